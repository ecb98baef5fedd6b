package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Proc is one child process the suite starts, kills and restarts: a
// Firebreak service or Redis. Its output goes to a log file that survives
// restarts.
type Proc struct {
	Name string
	Path string
	Args []string
	Log  string
	// Ready reports whether the process is ready to serve.
	Ready func(ctx context.Context) bool

	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs the process and waits until it is ready.
func (p *Proc) Start(ctx context.Context) error {
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", p.Name, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n=== chaos: start %s at %s\n", p.Name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=")
	// Its own process group, so that a Ctrl-C to the suite does not reach
	// it before the suite has decided to stop it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for !p.Ready(ctx) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited while starting; see %s", p.Name, p.Log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after 30s; see %s", p.Name, p.Log)
		}
	}
	return nil
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop sends SIGTERM and waits up to grace before killing.
func (p *Proc) Stop(grace time.Duration) {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.Kill()
	}
}

// Running reports whether the process is up.
func (p *Proc) Running() bool {
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// httpReady is ready when GET url answers 200.
func httpReady(url string) func(context.Context) bool {
	client := &http.Client{Timeout: time.Second}
	return func(ctx context.Context) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// NewRedis describes a Redis server on a port of its own that persists
// every write before answering (appendonly, appendfsync always; no RDB
// snapshots): a restart comes back with all its data.
func NewRedis(dir string, port int) *Proc {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1})
	return &Proc{
		Name: "redis", Path: "redis-server", Log: filepath.Join(dir, "redis.log"),
		Args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir},
		Ready: func(ctx context.Context) bool {
			return client.Ping(ctx).Err() == nil
		},
	}
}
