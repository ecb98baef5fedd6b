package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of three primaries and three replicas,
// each a redis-server process with an append-only file fsynced on every
// write, as escalation and the notifier require.
type RedisCluster struct {
	Nodes []*Proc
	Addrs []string
}

// redisClusterNodes is three primaries, each with one replica.
const redisClusterNodes = 6

// redisNodeTimeout is how long a primary may be silent before its replica
// takes over: short, so a failover fits in a phase.
const redisNodeTimeout = 2 * time.Second

// StartRedisCluster starts the nodes under dir and creates the cluster with
// redis-cli --cluster create.
func StartRedisCluster(ctx context.Context, dir string) (*RedisCluster, error) {
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("make chaos runs a Redis Cluster and needs %s on PATH (apt-get install redis-server): %w", bin, err)
		}
	}
	ports, err := FreePorts(2 * redisClusterNodes)
	if err != nil {
		return nil, err
	}
	rc := &RedisCluster{}
	for i := range redisClusterNodes {
		port := strconv.Itoa(ports[i])
		nodeDir := filepath.Join(dir, port)
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", nodeDir, err)
		}
		addr := "127.0.0.1:" + port
		rc.Addrs = append(rc.Addrs, addr)
		rc.Nodes = append(rc.Nodes, &Proc{
			Name: "redis " + addr, Path: "redis-server", Log: filepath.Join(dir, port+".log"),
			Args: []string{"--bind", "127.0.0.1", "--port", port,
				"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(ports[redisClusterNodes+i]),
				"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
				"--cluster-node-timeout", strconv.Itoa(int(redisNodeTimeout.Milliseconds())),
				"--dir", nodeDir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"},
			Ready: func(ctx context.Context) bool { return nodeDo(ctx, addr, "PING") == nil },
		})
	}
	if err := rc.spawnAll(ctx); err != nil {
		rc.Stop()
		return nil, err
	}
	args := append([]string{"--cluster", "create"}, rc.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		rc.Stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	err = rc.WaitOK(ctx, 60*time.Second)
	if err == nil {
		err = rc.WaitSynced(ctx, 60*time.Second)
	}
	if err != nil {
		rc.Stop()
		return nil, err
	}
	return rc, nil
}

func (rc *RedisCluster) spawnAll(ctx context.Context) error {
	for _, p := range rc.Nodes {
		if err := p.Spawn(); err != nil {
			return err
		}
	}
	for _, p := range rc.Nodes {
		if err := p.WaitReady(ctx, 30*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// WaitOK waits until every running node reports cluster_state:ok with all
// six nodes known and three primaries serving.
func (rc *RedisCluster) WaitOK(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		bad := ""
		for i, addr := range rc.Addrs {
			if !rc.Nodes[i].Running() {
				continue
			}
			info, err := nodeString(ctx, addr, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_size:3") {
				bad = addr
				break
			}
		}
		if bad == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis cluster not ok at %s after %s", bad, within)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFailover waits until a replica has taken over from the stopped
// primary at n: three other running nodes are primaries and the cluster
// reports ok. cluster_state stays ok for the node timeout after a primary
// dies, so WaitOK alone returns before any failover.
func (rc *RedisCluster) WaitFailover(ctx context.Context, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		primaries := 0
		for i, addr := range rc.Addrs {
			if i == n || !rc.Nodes[i].Running() {
				continue
			}
			if role, err := nodeRole(ctx, addr); err == nil && role == "master" {
				primaries++
			}
		}
		if primaries == 3 {
			return rc.WaitOK(ctx, time.Until(deadline))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no replica took over from %s after %s (%d primaries among the others)", rc.Addrs[n], within, primaries)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitSynced waits until every running replica has its primary's data
// (master_link_status:up). A replica that never synced does not take over
// from a primary that dies (its data counts as too old), so a failover
// fault needs its replicas synced first.
func (rc *RedisCluster) WaitSynced(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		behind := ""
		for i, addr := range rc.Addrs {
			if !rc.Nodes[i].Running() {
				continue
			}
			info, err := nodeString(ctx, addr, "INFO", "replication")
			if err != nil || (strings.Contains(info, "role:slave") && !strings.Contains(info, "master_link_status:up")) {
				behind = addr
				break
			}
		}
		if behind == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis replica %s not synced with its primary after %s", behind, within)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitRole waits until the node at n reports role (master or slave).
func (rc *RedisCluster) WaitRole(ctx context.Context, n int, role string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got, err := nodeRole(ctx, rc.Addrs[n])
		if err == nil && got == role {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis %s is %q (%v) after %s, want %s", rc.Addrs[n], got, err, within, role)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// KillAll SIGKILLs every node at once.
func (rc *RedisCluster) KillAll() {
	var wg sync.WaitGroup
	for _, p := range rc.Nodes {
		wg.Go(p.Kill)
	}
	wg.Wait()
}

// StartAll starts every node on its files again and waits for the cluster.
func (rc *RedisCluster) StartAll(ctx context.Context) error {
	if err := rc.spawnAll(ctx); err != nil {
		return err
	}
	return rc.WaitOK(ctx, 60*time.Second)
}

// Primary is the index of a node that is a primary now.
func (rc *RedisCluster) Primary(ctx context.Context, pick int) (int, error) {
	var primaries []int
	for i, addr := range rc.Addrs {
		if !rc.Nodes[i].Running() {
			continue
		}
		role, err := nodeRole(ctx, addr)
		if err == nil && role == "master" {
			primaries = append(primaries, i)
		}
	}
	if len(primaries) == 0 {
		return -1, fmt.Errorf("no Redis primary answers")
	}
	return primaries[pick%len(primaries)], nil
}

// SetFsync sets appendfsync on every running node.
func (rc *RedisCluster) SetFsync(ctx context.Context, mode string) error {
	for i, addr := range rc.Addrs {
		if !rc.Nodes[i].Running() {
			continue
		}
		if err := nodeDo(ctx, addr, "CONFIG", "SET", "appendfsync", mode); err != nil {
			return fmt.Errorf("CONFIG SET appendfsync %s on %s: %w", mode, addr, err)
		}
	}
	return nil
}

// aofTails samples, every 100 ms until ctx ends, the size of each node's
// newest incremental append-only file, so that a crash can be made to lose
// what the last moments wrote (see LoseAOFSince).
func (rc *RedisCluster) aofTails(ctx context.Context) *aofSampler {
	a := &aofSampler{rc: rc}
	go func() {
		for {
			a.sample()
			if sleep(ctx, 100*time.Millisecond) != nil {
				return
			}
		}
	}()
	return a
}

type aofSampler struct {
	rc      *RedisCluster
	mu      sync.Mutex
	samples []aofSample
}

type aofSample struct {
	at    time.Time
	files []string
	sizes []int64
}

func (a *aofSampler) sample() {
	smp := aofSample{at: time.Now()}
	for _, p := range a.rc.Nodes {
		file := newestIncrAOF(p)
		var size int64
		if st, err := os.Stat(file); err == nil {
			size = st.Size()
		}
		smp.files, smp.sizes = append(smp.files, file), append(smp.sizes, size)
	}
	a.mu.Lock()
	a.samples = append(a.samples, smp)
	a.mu.Unlock()
}

// truncateTo cuts every node's append-only file back to its size at the
// last sample before t, as a machine that lost power loses what was
// written but not yet fsynced, and returns the bytes cut. Call it with
// every node stopped.
func (a *aofSampler) truncateTo(t time.Time) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var at *aofSample
	for i := range a.samples {
		if a.samples[i].at.Before(t) {
			at = &a.samples[i]
		}
	}
	if at == nil {
		return 0, fmt.Errorf("no append-only file sizes sampled before %s", t.Format("15:04:05.000"))
	}
	var cut int64
	for i, file := range at.files {
		st, err := os.Stat(file)
		if err != nil || file == "" {
			return cut, fmt.Errorf("append-only file of %s: %v", a.rc.Addrs[i], err)
		}
		if st.Size() <= at.sizes[i] {
			continue
		}
		if err := os.Truncate(file, at.sizes[i]); err != nil {
			return cut, err
		}
		cut += st.Size() - at.sizes[i]
	}
	return cut, nil
}

// newestIncrAOF is the incremental append-only file a node writes to now
// (Redis 7 keeps them in appendonlydir, numbered).
func newestIncrAOF(p *Proc) string {
	var dir string
	for i, a := range p.Args {
		if a == "--dir" && i+1 < len(p.Args) {
			dir = p.Args[i+1]
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
	newest, best := "", -1
	for _, f := range files {
		parts := strings.Split(filepath.Base(f), ".")
		if len(parts) >= 4 {
			if n, err := strconv.Atoi(parts[len(parts)-3]); err == nil && n > best {
				newest, best = f, n
			}
		}
	}
	return newest
}

// Stop ends every node.
func (rc *RedisCluster) Stop() {
	for _, p := range rc.Nodes {
		p.Stop(5 * time.Second)
	}
}

func nodeClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
}

func nodeDo(ctx context.Context, addr string, args ...any) error {
	c := nodeClient(addr)
	defer c.Close()
	return c.Do(ctx, args...).Err()
}

func nodeString(ctx context.Context, addr string, args ...any) (string, error) {
	c := nodeClient(addr)
	defer c.Close()
	return c.Do(ctx, args...).Text()
}

func nodeRole(ctx context.Context, addr string) (string, error) {
	c := nodeClient(addr)
	defer c.Close()
	role, err := c.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) == 0 {
		return "", fmt.Errorf("ROLE at %s: %v", addr, err)
	}
	s, _ := role[0].(string)
	return s, nil
}
