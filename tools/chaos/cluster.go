// Package chaos runs Firebreak as separate processes on a three-node
// JetStream cluster of nats-server processes and a Redis Cluster of its
// own, injects the faults operators meet (SIGKILLed services and NATS
// leaders, a NATS node or the whole Redis down, a Redis failover, failing
// receivers, a dead-letter stream that refuses, a full stream) while the
// load generator pushes a known set of mentions, and then checks that every
// mention was decided once and every page delivered once.
package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a JetStream cluster of nats-server processes on loopback
// ports, fsyncing every write (sync_interval: always). A killed node is a
// SIGKILLed process: no shutdown, no flush, its files as the crash left them.
type Cluster struct {
	nodes []*natsNode
}

type natsNode struct {
	*Proc
	name      string
	clientURL string
	monitor   string
}

// BuildNATS compiles nats-server, at the version tools/go.mod requires,
// into dir.
func BuildNATS(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "nats-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build nats-server: %w\n%s", err, out)
	}
	return bin, nil
}

// StartCluster starts n nats-server processes of bin with their
// configuration, files and logs under dir.
func StartCluster(ctx context.Context, bin, dir string, n int) (*Cluster, error) {
	ports, err := FreePorts(3 * n)
	if err != nil {
		return nil, err
	}
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("%q", fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i])))
	}
	c := &Cluster{}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		nodeDir := filepath.Join(dir, name)
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", nodeDir, err)
		}
		// sync_interval has no command-line flag: it needs the file.
		conf := fmt.Sprintf(`server_name: %q
listen: "127.0.0.1:%d"
http: "127.0.0.1:%d"
jetstream {
  store_dir: %q
  sync_interval: always
}
cluster {
  name: "firebreak-chaos"
  listen: "127.0.0.1:%d"
  routes: [%s]
}
`, name, ports[i], ports[2*n+i], filepath.Join(nodeDir, "store"), ports[n+i], strings.Join(routes, ", "))
		confPath := filepath.Join(nodeDir, "nats.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", confPath, err)
		}
		monitor := fmt.Sprintf("http://127.0.0.1:%d", ports[2*n+i])
		c.nodes = append(c.nodes, &natsNode{
			name: name, clientURL: fmt.Sprintf("nats://127.0.0.1:%d", ports[i]), monitor: monitor,
			// /healthz answers 200 once the node is current with the
			// meta leader and every stream and consumer it replicates.
			Proc: &Proc{Name: "nats " + name, Path: bin, Args: []string{"-c", confPath}, Log: filepath.Join(dir, name+".log"),
				Ready: httpReady(monitor + "/healthz")},
		})
	}
	// Start all before waiting for any: a node is not healthy until it has
	// a quorum of routes.
	for _, nd := range c.nodes {
		if err := nd.Spawn(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for _, nd := range c.nodes {
		if err := nd.WaitReady(ctx, 60*time.Second); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, c.WaitJetStream(ctx, 60*time.Second)
}

// URLs is every node's client URL, comma separated, as services take them.
func (c *Cluster) URLs() string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, nd.clientURL)
	}
	return strings.Join(out, ",")
}

// Name is node i's server name.
func (c *Cluster) Name(i int) string { return c.nodes[i].name }

// Index is the node of a server name, -1 for none.
func (c *Cluster) Index(name string) int {
	for i, nd := range c.nodes {
		if nd.name == name {
			return i
		}
	}
	return -1
}

// Kill SIGKILLs node i, as a crashed machine would leave it.
func (c *Cluster) Kill(i int) { c.nodes[i].Kill() }

// Restart starts node i again on its old ports and files and waits until
// it has caught up with the cluster.
func (c *Cluster) Restart(ctx context.Context, i int) error {
	nd := c.nodes[i]
	if err := nd.Spawn(); err != nil {
		return err
	}
	if err := nd.WaitReady(ctx, 90*time.Second); err != nil {
		return fmt.Errorf("NATS node %s not caught up with the cluster after a restart: %w", nd.name, err)
	}
	return nil
}

// MetaLeader is the server name of the JetStream meta leader, as a
// running node sees it.
func (c *Cluster) MetaLeader(ctx context.Context) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for _, nd := range c.nodes {
		if !nd.Running() {
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, nd.monitor+"/jsz", nil)
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		var jsz struct {
			Meta struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		err = json.NewDecoder(resp.Body).Decode(&jsz)
		resp.Body.Close()
		if err == nil && jsz.Meta.Leader != "" {
			return jsz.Meta.Leader, nil
		}
		last = fmt.Errorf("node %s names no meta leader (%v)", nd.name, err)
	}
	return "", fmt.Errorf("find the JetStream meta leader: %v", last)
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

// Stop ends every node.
func (c *Cluster) Stop() {
	for _, nd := range c.nodes {
		nd.Stop(5 * time.Second)
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
