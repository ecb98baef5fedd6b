package storetest

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// StartServer starts a redis-server of its own for t, on a free loopback
// port with its files in a temporary directory, and stops it when t ends.
// args are further settings, e.g. "--appendonly", "yes". It returns the
// server's address. It fails, never skips, when redis-server is missing.
func StartServer(t testing.TB, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("this test needs redis-server on PATH (apt-get install redis-server): %v", err)
	}
	dir := t.TempDir()
	port := strconv.Itoa(freePorts(t, 1)[0])
	addr := "127.0.0.1:" + port
	all := append([]string{"--bind", "127.0.0.1", "--port", port, "--dir", dir, "--save", "",
		"--logfile", filepath.Join(dir, "redis.log")}, args...)
	cmd := exec.Command("redis-server", all...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server on %s: %v", addr, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	waitFor(t, "redis-server at "+addr+" to answer", func() bool { return nodeCommand(addr, "PING") == nil })
	return addr
}
