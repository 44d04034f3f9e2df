package edge

import "net"

// edgeListener hands out the edge's connections (edgeConn).
type edgeListener struct{ net.Listener }

func (l edgeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &edgeConn{lazyDeadlineConn: newLazyDeadlineConn(c)}, nil
}

// edgeConn is a connection the edge accepted: its deadlines move lazily
// (lazyDeadlineConn), and it remembers what the rate limiter learnt of its
// peer (peerLimit).
type edgeConn struct {
	*lazyDeadlineConn
	peer peerLimit
}
