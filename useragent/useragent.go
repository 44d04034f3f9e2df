// Package useragent tells a client's device, operating system and browser
// from its User-Agent header, in the families redirect rules (SPEC 9) and
// analytics (SPEC 11) name. It looks for the tokens browsers put in their
// agents, in an order that lets the browsers that copy others' tokens
// (Edge and Opera carry "Chrome/", Chrome carries "Safari/") be told
// apart, and it never allocates: the edge runs it on redirects that a rule
// on device or browser decides.
package useragent

import (
	"strings"
	"unsafe"
)

// Device is the kind of device.
type Device uint8

// The devices, as SPEC 11 spells them.
const (
	DeviceOther Device = iota
	DeviceDesktop
	DeviceMobile
	DeviceTablet
)

var deviceNames = [...]string{"other", "desktop", "mobile", "tablet"}

func (d Device) String() string { return deviceNames[d] }

// OS is the operating system family.
type OS uint8

// The operating systems, as SPEC 11 spells them.
const (
	OSOther OS = iota
	OSIOS
	OSAndroid
	OSWindows
	OSMacOS
	OSLinux
	OSChromeOS
)

var osNames = [...]string{"other", "ios", "android", "windows", "macos", "linux", "chromeos"}

func (o OS) String() string { return osNames[o] }

// Browser is the browser family.
type Browser uint8

// The browsers, as SPEC 9 spells them.
const (
	BrowserOther Browser = iota
	BrowserChrome
	BrowserFirefox
	BrowserSafari
	BrowserEdge
	BrowserOpera
)

var browserNames = [...]string{"other", "chrome", "firefox", "safari", "edge", "opera"}

func (b Browser) String() string { return browserNames[b] }

// Agent is what a User-Agent tells.
type Agent struct {
	Device  Device
	OS      OS
	Browser Browser
}

// Parse reads ua. Agents it does not recognise, and an empty one, are
// "other" throughout.
func Parse(ua []byte) Agent {
	if len(ua) == 0 {
		return Agent{}
	}
	var a Agent
	a.OS = parseOS(ua)
	a.Browser = parseBrowser(ua)
	a.Device = parseDevice(ua, a.OS)
	return a
}

// has reports whether ua holds token. It reads ua as a string in place:
// converting each token to bytes instead would copy it every call.
func has(ua []byte, token string) bool {
	return strings.Contains(unsafe.String(unsafe.SliceData(ua), len(ua)), token)
}

func parseOS(ua []byte) OS {
	switch {
	// Before macOS: iOS agents say "like Mac OS X".
	case has(ua, "iPhone") || has(ua, "iPad") || has(ua, "iPod"):
		return OSIOS
	// Before Linux: Android agents say "Linux; Android".
	case has(ua, "Android"):
		return OSAndroid
	case has(ua, "CrOS"):
		return OSChromeOS
	case has(ua, "Windows"):
		return OSWindows
	case has(ua, "Macintosh") || has(ua, "Mac OS X"):
		return OSMacOS
	case has(ua, "Linux") || has(ua, "X11"):
		return OSLinux
	}
	return OSOther
}

func parseBrowser(ua []byte) Browser {
	switch {
	// Browsers built on Chromium or WebKit that carry their engine's
	// tokens too come first.
	case has(ua, "Edg/") || has(ua, "EdgA/") || has(ua, "EdgiOS/") || has(ua, "Edge/"):
		return BrowserEdge
	case has(ua, "OPR/") || has(ua, "OPT/") || has(ua, "OPiOS/") || has(ua, "Opera"):
		return BrowserOpera
	case has(ua, "SamsungBrowser/") || has(ua, "YaBrowser/") || has(ua, "UCBrowser/") || has(ua, "Vivaldi/") ||
		has(ua, "DuckDuckGo/") || has(ua, "Silk/") || has(ua, "Brave"):
		return BrowserOther
	case has(ua, "Firefox/") || has(ua, "FxiOS/"):
		return BrowserFirefox
	case has(ua, "CriOS/") || has(ua, "Chrome/"): // also HeadlessChrome/
		return BrowserChrome
	case has(ua, "Safari/") && (has(ua, "Version/") || has(ua, "iPhone") || has(ua, "iPad")):
		return BrowserSafari
	}
	return BrowserOther
}

func parseDevice(ua []byte, os OS) Device {
	switch os {
	case OSIOS:
		if has(ua, "iPad") {
			return DeviceTablet
		}
		return DeviceMobile
	case OSAndroid:
		// Android phones' browsers say "Mobile"; tablets' do not.
		if has(ua, "Mobile") && !has(ua, "Tablet") {
			return DeviceMobile
		}
		return DeviceTablet
	case OSWindows, OSMacOS, OSLinux, OSChromeOS:
		if has(ua, "Mobile") && os == OSWindows { // Windows Phone
			return DeviceMobile
		}
		return DeviceDesktop
	}
	if has(ua, "Tablet") || has(ua, "Kindle") || has(ua, "Silk/") {
		return DeviceTablet
	}
	if has(ua, "Mobile") {
		return DeviceMobile
	}
	return DeviceOther
}
