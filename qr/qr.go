// Package qr draws the QR code of a short link (SPEC 11) as PNG or SVG.
//
// The symbol is encoded by github.com/skip2/go-qrcode: the Go QR encoder
// most projects use, with no dependencies and a stable API. Its PNG
// writer serves PNG; SVG is drawn here from the same module matrix, as one
// path, so that both formats show the same symbol.
package qr

import (
	"fmt"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/reboundhq/rebound"
)

// Bounds and default of the image's side, in pixels.
const (
	MinSize     = 64
	MaxSize     = 2048
	DefaultSize = 256
)

// Content is what a link's QR code encodes: its short URL with qr=1, which
// the edge counts as trigger "qr" and does not forward.
func Content(shortURL string) string { return shortURL + "?qr=1" }

// Format is an image format.
type Format int

// The formats.
const (
	PNG Format = iota
	SVG
)

// ContentType is the format's media type.
func (f Format) ContentType() string {
	if f == SVG {
		return "image/svg+xml"
	}
	return "image/png"
}

// ParseParams reads the format and size query parameters ("" for either
// takes the default), as validation errors naming the parameter.
func ParseParams(format, size string) (Format, int, error) {
	f := PNG
	switch format {
	case "", "png":
	case "svg":
		f = SVG
	default:
		return 0, 0, rebound.FieldErrorf(rebound.EValidation, "format", "format must be png or svg")
	}
	n := DefaultSize
	if size != "" {
		v, err := strconv.Atoi(size)
		if err != nil || v < MinSize || v > MaxSize {
			return 0, 0, rebound.FieldErrorf(rebound.EValidation, "size",
				"size must be a whole number of pixels from %d to %d", MinSize, MaxSize)
		}
		n = v
	}
	return f, n, nil
}

// Draw returns the QR code of content as an image of size pixels a side.
func Draw(content string, f Format, size int) ([]byte, error) {
	code, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("encode qr code: %w", err)
	}
	if f == PNG {
		b, err := code.PNG(size)
		if err != nil {
			return nil, fmt.Errorf("draw qr code png: %w", err)
		}
		return b, nil
	}
	return svg(code.Bitmap(), size), nil
}

// svg draws the module matrix (quiet zone included) as one path of unit
// squares in a viewBox of the matrix's size, scaled to size pixels.
func svg(bitmap [][]bool, size int) []byte {
	n := len(bitmap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`,
		size, size, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bitmap {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			run := 1 // a run of dark modules is one rectangle
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
