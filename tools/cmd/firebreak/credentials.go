package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/rpc"
)

// errNoToken says how to get a token; every command that calls an API
// ends with it when none is set.
var errNoToken = errors.New("no token: set FIREBREAK_TOKEN (`make run` prints an `export FIREBREAK_TOKEN=...` line) or " +
	"--token-file (FIREBREAK_TOKEN_FILE) to an API key or an ID token from your identity provider; " +
	"an admin makes API keys with `firebreak token new`")

// connFlags are how the CLI reaches an API: the caller's token and TLS.
type connFlags struct {
	tokenFile string
	tls       rpc.ClientTLS
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.tokenFile, "token-file", os.Getenv("FIREBREAK_TOKEN_FILE"), "file holding your token (env FIREBREAK_TOKEN_FILE; FIREBREAK_TOKEN holds the token itself)")
	fs.BoolVar(&c.tls.Always, "tls", os.Getenv("FIREBREAK_TLS") == "true" || os.Getenv("FIREBREAK_TLS") == "1", "use TLS, verifying the server with the system's roots unless --tls-ca is set (env FIREBREAK_TLS=true)")
	caFile := os.Getenv("FIREBREAK_TLS_CA")
	if caFile == "" {
		caFile = os.Getenv("FIREBREAK_TLS_CA_FILE") // the older name
	}
	fs.StringVar(&c.tls.CA, "tls-ca", caFile, "PEM CA bundle for the server's certificate; implies --tls (env FIREBREAK_TLS_CA)")
	fs.StringVar(&c.tls.CA, "tls-ca-file", caFile, "the older name of --tls-ca")
	fs.StringVar(&c.tls.Cert, "tls-cert", os.Getenv("FIREBREAK_TLS_CERT"), "PEM client certificate for servers that require mutual TLS; implies --tls (env FIREBREAK_TLS_CERT)")
	fs.StringVar(&c.tls.Key, "tls-key", os.Getenv("FIREBREAK_TLS_KEY"), "PEM private key of --tls-cert (env FIREBREAK_TLS_KEY)")
	fs.StringVar(&c.tls.ServerName, "tls-server-name", os.Getenv("FIREBREAK_TLS_SERVER_NAME"), "name to verify in the server's certificate (env FIREBREAK_TLS_SERVER_NAME)")
}

// token is FIREBREAK_TOKEN, else the token file's content.
func (c *connFlags) token() (string, error) {
	if t := strings.TrimSpace(os.Getenv("FIREBREAK_TOKEN")); t != "" {
		return t, nil
	}
	if c.tokenFile == "" {
		return "", errNoToken
	}
	t, err := config.ReadSecret(c.tokenFile)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	if t = strings.TrimSpace(t); t == "" {
		return "", fmt.Errorf("--token-file %s is empty; %w", c.tokenFile, errNoToken)
	}
	return t, nil
}

// dial connects to addr with the caller's token.
func (c *connFlags) dial(addr string) (*grpc.ClientConn, error) {
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	tlsConfig, err := c.tls.Config()
	if err != nil {
		return nil, fmt.Errorf("--tls-ca, --tls-cert, --tls-key: %w", err)
	}
	return rpc.DialTLS(addr, token, tlsConfig)
}

// call dials addr and makes one call on the connection, bounded by timeout.
func (c *connFlags) call(ctx context.Context, addr string, timeout time.Duration, do func(context.Context, *grpc.ClientConn) error) error {
	conn, err := c.dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return do(ctx, conn)
}
