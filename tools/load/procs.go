package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/firebreak/firebreak/tools/stack"
)

// apartServices are the services a run apart starts, downstream first as
// stack.Start does, so nothing is published before its consumer exists.
// The console serves people, not the flow, and is left out.
var apartServices = []string{"escalation", "notifier", "reach", "scorer", "ingest"}

// Procs are the services running as processes of their own, as they run
// in production, so that each one's CPU and memory can be read apart.
type Procs struct {
	procs map[string]*proc
	Token string
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	http   string
	grpc   string
	stderr string
}

// BuildServices compiles the five flow services into dir (go build, from
// the repository root) and returns dir.
func BuildServices(ctx context.Context, dir string) (string, error) {
	args := []string{"build", "-o", dir}
	for _, name := range apartServices {
		args = append(args, "./services/"+name+"/cmd/"+name)
	}
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the services (run loadgen from the repository root, or give --bin-dir with `make build`'s binaries): %w\n%s", err, out)
	}
	return dir, nil
}

// startProcs runs each service from binDir with the flags stack.Start
// would give it, and waits until each is ready before starting the next.
func startProcs(ctx context.Context, opts stack.Options, binDir, logDir string) (*Procs, error) {
	p := &Procs{procs: map[string]*proc{}}
	var err error
	if p.Token, opts.KeysFile, err = stack.LocalKeys(logDir); err != nil {
		return nil, err
	}
	for _, name := range apartServices {
		if err := p.start(ctx, opts, binDir, logDir, name); err != nil {
			return nil, errors.Join(err, p.Stop())
		}
	}
	return p, nil
}

func (p *Procs) start(ctx context.Context, opts stack.Options, binDir, logDir, name string) error {
	httpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		return err
	}
	args := append(opts.Args(name), "--http-addr="+httpAddr, "--grpc-addr="+grpcAddr)
	logPath := filepath.Join(logDir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("log file of %s: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s from %s: %w", name, binDir, err)
	}
	pr := &proc{cmd: cmd, exited: make(chan struct{}), http: httpAddr, grpc: grpcAddr, stderr: logPath}
	go func() { _ = cmd.Wait(); close(pr.exited) }()
	p.procs[name] = pr
	return pr.waitReady(ctx, name, 60*time.Second)
}

// waitReady polls the service's /readyz until it answers 200.
func (pr *proc) waitReady(ctx context.Context, name string, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + pr.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-pr.exited:
			return fmt.Errorf("%s exited while starting; its log is %s", name, pr.stderr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s; its log is %s", name, within, pr.stderr)
		}
	}
}

// freeAddr is a loopback address with a port free now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// HTTPAddr and GRPCAddr are a service's addresses.
func (p *Procs) HTTPAddr(name string) string { return p.procs[name].http }
func (p *Procs) GRPCAddr(name string) string { return p.procs[name].grpc }

// Pids are the running services' process ids, by service.
func (p *Procs) Pids() map[string]int {
	out := map[string]int{}
	for name, pr := range p.procs {
		out[name] = pr.cmd.Process.Pid
	}
	return out
}

// Stop asks every service to drain (SIGTERM), upstream first, and kills
// one that has not stopped in 30 s.
func (p *Procs) Stop() error {
	var errs []error
	for i := len(apartServices) - 1; i >= 0; i-- {
		pr, ok := p.procs[apartServices[i]]
		if !ok {
			continue
		}
		_ = pr.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-pr.exited:
		case <-time.After(30 * time.Second):
			_ = pr.cmd.Process.Kill()
			<-pr.exited
			errs = append(errs, fmt.Errorf("%s did not stop within 30s of SIGTERM and was killed; its log is %s", apartServices[i], pr.stderr))
		}
	}
	p.procs = map[string]*proc{}
	return errors.Join(errs...)
}

// procUsage reads a process's CPU seconds so far and resident set now
// from /proc; ok is false when the process is gone or /proc is missing.
func procUsage(pid int) (cpu, rssMiB float64, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing one. utime and stime are fields 14 and 15.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, 0, false
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	cpu = (utime + stime) / clockTicks
	return cpu, statusRSS(fmt.Sprintf("/proc/%d/status", pid)), true
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux this runs on (it is fixed by the kernel's ABI for /proc).
const clockTicks = 100

// statusRSS reads VmRSS, in MiB, from a /proc status file (0 if missing).
func statusRSS(path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
