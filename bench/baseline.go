package bench

import (
	"net"

	"github.com/valyala/fasthttp"
)

// Baseline is the bare server every figure is a ratio to: fasthttp answering
// 302 with a Location looked up in a Go map, 404 otherwise. It does nothing
// else, so the gap between it and the edge is what Rebound's promises cost.
type Baseline struct {
	links map[string][]byte
	srv   *fasthttp.Server
}

// NewBaseline returns a baseline serving benchmark links 0..n-1.
func NewBaseline(n int) *Baseline {
	b := &Baseline{links: make(map[string][]byte, n)}
	for i := range n {
		b.links[Code(i)] = []byte(TargetURL(i))
	}
	b.srv = &fasthttp.Server{Handler: b.handle, Name: "baseline"}
	return b
}

var strLocation = []byte("Location")

func (b *Baseline) handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if len(path) > 1 {
		if loc, ok := b.links[string(path[1:])]; ok { // the conversion in a map index does not allocate
			ctx.Response.Header.SetCanonical(strLocation, loc)
			ctx.SetStatusCode(fasthttp.StatusFound)
			return
		}
	}
	ctx.SetStatusCode(fasthttp.StatusNotFound)
}

// Serve answers connections from ln until Close.
func (b *Baseline) Serve(ln net.Listener) error { return b.srv.Serve(ln) }

// Close stops the server.
func (b *Baseline) Close() error { return b.srv.Shutdown() }
