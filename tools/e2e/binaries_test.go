package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/auth/authtest"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

var services = []string{"notifier", "escalation", "reach", "scorer", "ingest"}

// process is one service binary running under test.
type process struct {
	name       string
	cmd        *exec.Cmd
	http, grpc string
	exited     chan error
}

// TestEachServiceRunsAsItsOwnBinary builds the five binaries, runs them as
// separate processes against one embedded NATS and the real Redis, pushes a
// complaint through them, and stops them with SIGTERM: each must drain and
// exit 0.
func TestEachServiceRunsAsItsOwnBinary(t *testing.T) {
	bin := t.TempDir()
	args := []string{"build", "-o", bin}
	for _, s := range services {
		args = append(args, "github.com/firebreak/firebreak/services/"+s+"/cmd/"+s)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := bustest.Server(t)
	_, keys := storetest.New(t)
	caller := authtest.Everyone()
	common := []string{"--nats-url=" + srv.ClientURL(), "--redis-url=" + storetest.URL(), "--redis-key-prefix=" + keys.Prefix,
		"--auth-keys-file=" + authtest.KeysFile(t, caller),
		"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--shutdown-timeout=10s"}
	// The machine's Redis may run without appendonly; the services that
	// check it are told to accept that.
	accept := []string{"--redis-durability=accept-loss"}
	extra := map[string][]string{"reach": {"--brand-followers=acme=203000"}, "escalation": accept, "notifier": accept}
	procs := map[string]*process{}
	for _, s := range services {
		// Each binary logs in to NATS as its own service.
		own := []string{"--nats-user=" + s, "--nats-password-file=" + bustest.PasswordFile(t, srv, s)}
		procs[s] = launch(t, filepath.Join(bin, s), slices.Concat(common, own, extra[s]))
	}
	for _, p := range procs {
		resp, err := http.Get("http://" + p.http + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s not ready: %v %v", p.name, resp, err)
		}
		resp.Body.Close()
	}

	body := `{"platform":"x","platform_id":"bin-1","brand":"acme","author":{"id":"u1","handle":"dan","followers":332000},"text":"@acme cancelled again and nobody answers. Disgraceful."}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+procs["ingest"].http+"/v1/mentions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+caller.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post to the ingest binary: %v %v", resp, err)
	}
	conn, err := rpc.Dial(procs["escalation"].grpc, caller.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := fbv1.NewEscalationServiceClient(conn)
	testkit.Eventually(t, "the escalation binary's decision", func() bool {
		d, err := client.ExplainDecision(context.Background(), &fbv1.ExplainDecisionRequest{MentionId: "x:bin-1"})
		return err == nil && d.Decision.Team == "senior"
	})

	for _, p := range procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		select {
		case err := <-p.exited:
			if err != nil {
				t.Errorf("%s exited badly after SIGTERM: %v", p.name, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s did not exit within 15s of SIGTERM", p.name)
		}
	}
}

// launch runs a binary and reads its addresses from the "starting" log line.
func launch(t *testing.T, path string, args []string) *process {
	t.Helper()
	p := &process{name: filepath.Base(path), cmd: exec.Command(path, args...), exited: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	deadline := time.AfterFunc(20*time.Second, func() { _ = p.cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		var entry struct{ Msg, HTTP, GRPC string }
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.Msg == "starting" {
			p.http, p.grpc = entry.HTTP, entry.GRPC
			break
		}
	}
	if p.http == "" {
		t.Fatalf("%s never logged its addresses", p.name)
	}
	go func() {
		_, _ = io.Copy(io.Discard, stderr)
		err := p.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("exit code %d", exit.ExitCode())
		}
		p.exited <- err
	}()
	return p
}
