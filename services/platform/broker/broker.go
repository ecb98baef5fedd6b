// Package broker runs an embedded NATS server with JetStream, for the
// laptop's one-process run and for tests. Production uses a NATS cluster.
package broker

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("configure embedded NATS: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS on %s:%d not ready after 10s (is the port taken?)", sopts.Host, sopts.Port)
	}
	return srv, nil
}
