// Package redisserver starts a redis-server of the caller's own on a free
// loopback port: for tests that must not disturb a shared Redis, and for a
// load run whose Redis figures must count no other client's commands.
package redisserver

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	Addr string
	cmd  *exec.Cmd
}

// Start runs redis-server with its files (and its log, redis.log) in dir
// and no snapshots; args are further settings, e.g. "--appendonly", "yes".
// It returns once the server answers.
func Start(dir string, args ...string) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server is not on PATH (apt-get install redis-server): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port for redis-server: %w", err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	log := filepath.Join(dir, "redis.log")
	all := append([]string{"--bind", "127.0.0.1", "--port", port, "--dir", dir, "--save", "", "--logfile", log}, args...)
	s := &Server{Addr: "127.0.0.1:" + port, cmd: exec.Command("redis-server", all...)}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server on %s: %w", s.Addr, err)
	}
	client := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer client.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on %s did not answer within 30s (its log: %s): %w", s.Addr, log, err)
		}
	}
}

// Stop kills the server.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}
