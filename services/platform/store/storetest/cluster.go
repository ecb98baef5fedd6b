package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a real Redis Cluster of three primaries and three replicas,
// each a redis-server process on a free loopback port with its files in a
// temporary directory, created with redis-cli --cluster create.
type Cluster struct {
	// Addrs are the six nodes' addresses; any one of them is a seed.
	Addrs []string
	procs []*exec.Cmd
}

// clusterNodes is three primaries, each with one replica.
const clusterNodes = 6

// StartCluster starts a Redis Cluster for t and stops it when t ends. It
// fails, never skips, when redis-server or redis-cli is missing.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("the Redis Cluster tests need %s on PATH (apt-get install redis-server): %v", bin, err)
		}
	}
	dir := t.TempDir()
	ports := freePorts(t, 2*clusterNodes)
	c := &Cluster{}
	t.Cleanup(c.stop)
	for i := range clusterNodes {
		port, busPort := ports[i], ports[clusterNodes+i]
		addr := "127.0.0.1:" + strconv.Itoa(port)
		nodeDir := filepath.Join(dir, strconv.Itoa(port))
		if err := os.Mkdir(nodeDir, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("redis-server",
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(busPort),
			"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
			"--cluster-node-timeout", "5000",
			"--dir", nodeDir, "--save", "", "--appendonly", "no",
			"--logfile", filepath.Join(nodeDir, "redis.log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server on %s: %v", addr, err)
		}
		c.procs = append(c.procs, cmd)
		c.Addrs = append(c.Addrs, addr)
	}
	for _, addr := range c.Addrs {
		waitFor(t, "redis-server at "+addr+" to answer", func() bool {
			return nodeCommand(addr, "PING") == nil
		})
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range c.Addrs {
		waitFor(t, "cluster_state:ok at "+addr, func() bool { return clusterOK(addr) })
	}
	return c
}

// stop ends every node and waits for it, so no process outlives the test.
func (c *Cluster) stop() {
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGKILL)
	}
	for _, p := range c.procs {
		_ = p.Wait()
	}
}

// Primaries returns a client per primary, for tests that look at where keys
// went. The clients are closed when t ends.
func (c *Cluster) Primaries(t testing.TB) map[string]*redis.Client {
	t.Helper()
	out := map[string]*redis.Client{}
	for _, addr := range c.Addrs {
		client := redis.NewClient(&redis.Options{Addr: addr})
		role, err := client.Do(context.Background(), "ROLE").Slice()
		if err != nil || len(role) == 0 || role[0] != "master" {
			_ = client.Close()
			continue
		}
		t.Cleanup(func() { _ = client.Close() })
		out[addr] = client
	}
	return out
}

func clusterOK(addr string) bool {
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	info, err := client.ClusterInfo(context.Background()).Result()
	return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:6")
}

func nodeCommand(addr string, args ...any) error {
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return client.Do(ctx, args...).Err()
}

// freePorts finds n free loopback ports by holding them all open at once,
// so none is handed out twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// waitFor polls cond until it holds, failing t after 30 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(fmt.Sprintf("gave up waiting for %s", what))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
