package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
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
	if err := p.Spawn(); err != nil {
		return err
	}
	return p.WaitReady(ctx, 30*time.Second)
}

// Spawn runs the process without waiting for it to be ready, for processes
// that are only ready together (a NATS cluster needs a quorum of routes).
func (p *Proc) Spawn() error {
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
	return nil
}

// WaitReady waits until the spawned process is ready, up to within.
func (p *Proc) WaitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !p.Ready(ctx) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited while starting; see %s", p.Name, p.Log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s; see %s", p.Name, within, p.Log)
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
