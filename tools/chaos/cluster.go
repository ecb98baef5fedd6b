// Package chaos runs Firebreak as separate processes on a three-node
// JetStream cluster and a Redis of its own, injects faults (SIGKILLed
// services, a lost NATS node, a restarted Redis, a misbehaving receiver,
// duplicated and redelivered messages) while the load generator pushes a
// known set of mentions, and then checks that every mention was decided
// once and every page delivered once.
package chaos

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a JetStream cluster of embedded servers on loopback ports,
// fsyncing every write (sync_interval: always).
type Cluster struct {
	mu    sync.Mutex
	nodes []*node
}

type node struct {
	name      string
	port, rt  int
	dir       string
	routes    []*url.URL
	srv       *server.Server
	clientURL string
}

// StartCluster starts n nodes with their files under dir.
func StartCluster(dir string, n int) (*Cluster, error) {
	ports, err := FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var routes []*url.URL
	for i := range n {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", ports[n+i])})
	}
	c := &Cluster{}
	for i := range n {
		nd := &node{name: fmt.Sprintf("n%d", i+1), port: ports[i], rt: ports[n+i], dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), routes: routes}
		nd.clientURL = fmt.Sprintf("nats://127.0.0.1:%d", nd.port)
		c.nodes = append(c.nodes, nd)
	}
	// Start all before waiting for any: a node is not ready until it has a
	// quorum of routes.
	for _, nd := range c.nodes {
		if err := nd.start(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for _, nd := range c.nodes {
		if !nd.srv.ReadyForConnections(20 * time.Second) {
			c.Stop()
			return nil, fmt.Errorf("NATS node %s on port %d not ready after 20s", nd.name, nd.port)
		}
	}
	return c, c.WaitJetStream(context.Background(), 60*time.Second)
}

func (nd *node) start() error {
	opts := &server.Options{
		ServerName: nd.name, Host: "127.0.0.1", Port: nd.port,
		JetStream: true, StoreDir: nd.dir, SyncAlways: true,
		Cluster: server.ClusterOpts{Name: "firebreak-chaos", Host: "127.0.0.1", Port: nd.rt},
		Routes:  nd.routes, NoSigs: true, NoLog: true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("configure NATS node %s: %w", nd.name, err)
	}
	go srv.Start()
	nd.srv = srv
	return nil
}

// URLs is every node's client URL, comma separated, as services take them.
func (c *Cluster) URLs() string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, nd.clientURL)
	}
	return strings.Join(out, ",")
}

// Kill shuts node i down, as a crashed machine would leave it: its files
// stay, its clients are cut off.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nd := c.nodes[i]
	nd.srv.Shutdown()
	nd.srv.WaitForShutdown()
}

// Restart starts node i again on its old ports and files and waits until
// it has caught up with the cluster.
func (c *Cluster) Restart(ctx context.Context, i int) error {
	c.mu.Lock()
	nd := c.nodes[i]
	err := nd.start()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if !nd.srv.ReadyForConnections(20 * time.Second) {
		return fmt.Errorf("NATS node %s not ready 20s after restart", nd.name)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !nd.srv.JetStreamIsCurrent() {
		if time.Now().After(deadline) {
			return fmt.Errorf("NATS node %s not caught up with the cluster 60s after restart", nd.name)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// WaitJetStream waits until the cluster answers JetStream requests.
func (c *Cluster) WaitJetStream(ctx context.Context, within time.Duration) error {
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		return fmt.Errorf("connect to the cluster at %s: %w", c.URLs(), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(within)
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("JetStream cluster not ready after %s: %w", within, err)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stop shuts every node down.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nd := range c.nodes {
		if nd.srv != nil && nd.srv.Running() {
			nd.srv.Shutdown()
			nd.srv.WaitForShutdown()
		}
	}
}

// FreePorts reserves n distinct loopback ports and releases them for use.
func FreePorts(n int) ([]int, error) {
	var lis []net.Listener
	defer func() {
		for _, l := range lis {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lis = append(lis, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
