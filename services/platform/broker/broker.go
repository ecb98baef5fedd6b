// Package broker runs an embedded NATS server with JetStream, for the
// laptop's one-process run and for tests. Production uses a NATS cluster.
package broker

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/firebreak/firebreak/services/platform/bus"
)

// Options shape the embedded server.
type Options struct {
	// Host and Port to listen on; Port -1 picks a free port.
	Host string
	Port int
	// StoreDir holds JetStream's files.
	StoreDir string
	// SyncAlways fsyncs every write before acknowledging it. JetStream
	// otherwise acks before fsync (every two minutes by default), and a
	// crash can lose acknowledged writes.
	SyncAlways bool
	// Users may connect, each with its password and permissions; none
	// lets anyone connect and do anything.
	Users []User
}

// User is one NATS user of the embedded server.
type User struct {
	Name     string
	Password string
	// Permission limits what the user may publish and subscribe to; nil
	// allows everything (a test's own connection).
	Permission *bus.Permission
}

// Start runs a server and waits until it accepts connections.
func Start(opts Options) (*server.Server, error) {
	sopts := &server.Options{
		Host:      opts.Host,
		Port:      opts.Port,
		JetStream: true,
		StoreDir:  opts.StoreDir,
		NoSigs:    true,
		NoLog:     true,
	}
	if sopts.Host == "" {
		sopts.Host = "127.0.0.1"
	}
	if opts.SyncAlways {
		sopts.SyncAlways = true
	}
	for _, u := range opts.Users {
		su := &server.User{Username: u.Name, Password: u.Password}
		if p := u.Permission; p != nil {
			su.Permissions = &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: p.Publish},
				Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
			}
		}
		sopts.Users = append(sopts.Users, su)
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("configure embedded NATS: %w", err)
	}
	// The server reports what stops it starting (a taken port) only to its
	// logger, as fatal: hear it, rather than wait out the deadline.
	fatal := make(chan string, 1)
	srv.SetLoggerV2(fatalLogger(fatal), false, false, false)
	go srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		select {
		case why := <-fatal:
			srv.Shutdown()
			return nil, fmt.Errorf("embedded NATS on %s:%d: %s; stop what holds the port or choose another", sopts.Host, sopts.Port, why)
		default:
		}
		if time.Now().After(deadline) {
			srv.Shutdown()
			return nil, fmt.Errorf("embedded NATS on %s:%d not ready after 10s (is the port taken?)", sopts.Host, sopts.Port)
		}
	}
	return srv, nil
}

// fatalLogger passes on the server's first fatal message and drops the
// rest of its log.
type fatalLogger chan string

func (l fatalLogger) Fatalf(format string, v ...any) {
	select {
	case l <- fmt.Sprintf(format, v...):
	default:
	}
}
func (fatalLogger) Noticef(string, ...any) {}
func (fatalLogger) Warnf(string, ...any)   {}
func (fatalLogger) Errorf(string, ...any)  {}
func (fatalLogger) Debugf(string, ...any)  {}
func (fatalLogger) Tracef(string, ...any)  {}

// ServiceUsers gives every service (bus.Services) a user with the
// permissions of the table in package bus, and its password from
// dir/<service>. A password file that is missing is made, with a random
// password readable only by its owner, so a restart keeps the passwords.
// A service's --nats-password-file is dir/<service>.
func ServiceUsers(dir string, names bus.Names) ([]User, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("directory for the NATS passwords: %w", err)
	}
	var users []User
	for _, service := range bus.Services {
		perm, err := names.Permissions(service)
		if err != nil {
			return nil, err
		}
		pass, err := Password(filepath.Join(dir, service))
		if err != nil {
			return nil, err
		}
		users = append(users, User{Name: service, Password: pass, Permission: &perm})
	}
	return users, nil
}

// Password reads the password in path, or makes a random one there if the
// file does not exist.
func Password(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read NATS password file %s: %w", path, err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make a NATS password: %w", err)
	}
	pass := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(pass+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write NATS password file %s: %w", path, err)
	}
	return pass, nil
}
