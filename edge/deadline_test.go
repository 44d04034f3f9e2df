package edge

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the two ends of a real loopback TCP connection, the
// server's end wrapped as the edge wraps it.
func tcpPair(t *testing.T) (*lazyDeadlineConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := edgeListener{ln}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// Closing the ends ends a read or write that no deadline stops, so a
	// broken deadline fails the test instead of hanging it.
	watchdog := time.AfterFunc(10*time.Second, func() { _ = client.Close(); _ = server.Close() })
	t.Cleanup(func() { watchdog.Stop(); _ = client.Close(); _ = server.Close() })
	return server.(*edgeConn).lazyDeadlineConn, client
}

func TestLaterReadDeadlineIsHonouredLazily(t *testing.T) {
	c, _ := tcpPair(t)
	start := time.Now()
	if err := c.SetReadDeadline(start.Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	inForce := c.read.inForce.Load()
	if err := c.SetReadDeadline(start.Add(400 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got := c.read.inForce.Load(); got != inForce {
		t.Fatalf("a later deadline changed the connection's at once (%d, was %d)", got, inForce)
	}
	_, err := c.Read(make([]byte, 8))
	if elapsed := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || elapsed < 400*time.Millisecond {
		t.Fatalf("read: %v after %v, want a timeout after the later deadline (400ms)", err, elapsed)
	}
}

func TestEarlierReadDeadlineTakesEffectAtOnce(t *testing.T) {
	c, _ := tcpPair(t)
	start := time.Now()
	if err := c.SetReadDeadline(start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(start.Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(make([]byte, 8))
	if elapsed := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || elapsed > 5*time.Second {
		t.Fatalf("read: %v after %v, want a timeout after 50ms", err, elapsed)
	}
}

func TestNoDeadlineAfterOne(t *testing.T) {
	c, client := tcpPair(t)
	if err := c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = client.Write([]byte("late"))
	}()
	buf := make([]byte, 8)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read %q, %v; want the late bytes: no deadline was asked for", buf[:n], err)
	}
}

func TestLaterWriteDeadlineLetsTheWriteFinish(t *testing.T) {
	c, client := tcpPair(t)
	payload := bytes.Repeat([]byte("rebound "), 4<<20) // 32 MiB: more than the socket buffers hold
	start := time.Now()
	if err := c.SetWriteDeadline(start.Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWriteDeadline(start.Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	received := make(chan []byte)
	go func() {
		time.Sleep(300 * time.Millisecond) // the first deadline fires while the write waits
		b, _ := io.ReadAll(client)
		received <- b
	}()
	n, err := c.Write(payload)
	if err != nil || n != len(payload) {
		t.Fatalf("wrote %d of %d bytes: %v", n, len(payload), err)
	}
	_ = c.Close()
	if got := <-received; !bytes.Equal(got, payload) {
		t.Fatalf("peer received %d bytes, not the %d written", len(got), len(payload))
	}
}

func TestWriteDeadlinePassedFailsTheWrite(t *testing.T) {
	c, _ := tcpPair(t) // the peer never reads
	start := time.Now()
	if err := c.SetWriteDeadline(start.Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWriteDeadline(start.Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Write(bytes.Repeat([]byte("x"), 64<<20))
	if elapsed := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || elapsed < 2*time.Second || n == 0 {
		t.Fatalf("write: %d bytes, %v after %v; want some bytes, then a timeout after 2s", n, err, elapsed)
	}
}
