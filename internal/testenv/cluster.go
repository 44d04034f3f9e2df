package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewRedisCluster starts three private redis-server processes as a
// three-master Redis Cluster, waits until it serves every slot, and stops
// them when the test ends. It returns the seed addresses.
func NewRedisCluster(t testing.TB) []string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not installed (make test installs it): %v", err)
	}
	dir := t.TempDir()
	var addrs []string
	var procs []*exec.Cmd
	t.Cleanup(func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	})
	for i := 0; i < 3; i++ {
		port := freeClusterPort(t)
		nodeDir := fmt.Sprintf("%s/n%d", dir, i)
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", nodeDir+"/nodes.conf", "--dir", nodeDir, "--save", "", "--appendonly", "no",
			"--cluster-node-timeout", "2000")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		procs = append(procs, cmd)
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for c.Ping(ctx).Err() != nil {
			if ctx.Err() != nil {
				t.Fatalf("redis node %s did not start", a)
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = c.Close()
	}
	// Give each master a third of the slots and introduce the nodes.
	first := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer first.Close()
	for i, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		lo, hi := i*16384/3, (i+1)*16384/3-1
		if err := c.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("assign slots to %s: %v", a, err)
		}
		_ = c.Close()
		if i > 0 {
			host, port, _ := net.SplitHostPort(a)
			if err := first.ClusterMeet(ctx, host, port).Err(); err != nil {
				t.Fatalf("cluster meet %s: %v", a, err)
			}
		}
	}
	for {
		ok := true
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			info, err := c.ClusterInfo(ctx).Result()
			_ = c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3") {
				ok = false
			}
		}
		if ok {
			return addrs
		}
		if ctx.Err() != nil {
			t.Fatal("redis cluster did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeClusterPort finds a port p where p and its cluster bus port p+10000
// are both free (ephemeral ports would overflow past 65535).
func freeClusterPort(t testing.TB) int {
	t.Helper()
	for range 200 {
		var b [2]byte
		_, _ = rand.Read(b[:])
		p := 20000 + int(b[0])<<8%25000 + int(b[1])
		if portFree(p) && portFree(p+10000) {
			return p
		}
	}
	t.Fatal("no free port pair for a redis cluster node")
	return 0
}

func portFree(p int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}
