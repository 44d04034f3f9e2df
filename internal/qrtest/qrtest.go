// Package qrtest reads QR codes back in tests, with gozxing (a Go port of
// ZXing): a decoder independent of the encoder Rebound draws with.
package qrtest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"strconv"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// Decode reads the text of a QR code image with gozxing, an independent
// decoder (a port of ZXing).
func Decode(t testing.TB, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode qr code: %v", err)
	}
	return res.GetText()
}

// DecodePNG decodes a PNG QR code.
func DecodePNG(t testing.TB, b []byte) (string, image.Rectangle) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return Decode(t, img), img.Bounds()
}

var (
	svgBox  = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)
	svgRuns = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
)

// DecodeSVG rasterises the SVG's dark runs (the only shapes qr draws) at 4
// pixels a module and decodes that.
func DecodeSVG(t testing.TB, b []byte) string {
	t.Helper()
	m := svgBox.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no viewBox in %.100s", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, r := range svgRuns.FindAllSubmatch(b, -1) {
		x, _ := strconv.Atoi(string(r[1]))
		y, _ := strconv.Atoi(string(r[2]))
		w, _ := strconv.Atoi(string(r[3]))
		for px := x * scale; px < (x+w)*scale; px++ {
			for py := y * scale; py < (y+1)*scale; py++ {
				img.SetGray(px, py, color.Gray{})
			}
		}
	}
	return Decode(t, img)
}
