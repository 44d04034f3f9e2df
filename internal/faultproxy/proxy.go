// Package faultproxy is a TCP proxy for fault tests: put it between a
// service and a real Postgres or Redis, then cut every connection, refuse
// new ones, or slow traffic down, and restore it, while both ends keep
// running.
package faultproxy

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections from its address to a target.
type Proxy struct {
	ln      net.Listener
	target  string
	down    atomic.Bool
	latency atomic.Int64 // nanoseconds added before each forwarded chunk
	jitter  atomic.Int64 // up to this many nanoseconds more, drawn per chunk
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// New starts a proxy on a free loopback port in front of target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port clients dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.down.Store(true)
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// Restore accepts and forwards connections again.
func (p *Proxy) Restore() { p.down.Store(false) }

// SetLatency delays every forwarded chunk in both directions by d.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// SetJitter delays every forwarded chunk by a random time under d more,
// drawn per chunk. A connection keeps its order, but what two connections
// send at about the same time arrives in either order.
func (p *Proxy) SetJitter(d time.Duration) { p.jitter.Store(int64(d)) }

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			_ = c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.track(c, up)
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		_ = c.Close()
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer p.untrack(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			d := time.Duration(p.latency.Load())
			if j := p.jitter.Load(); j > 0 {
				d += time.Duration(rand.Int64N(j))
			}
			if d > 0 {
				time.Sleep(d)
			}
			if p.down.Load() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // EOF or a cut: either way this pipe is done
			return
		}
	}
}
