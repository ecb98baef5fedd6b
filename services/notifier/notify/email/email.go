// Package email sends cases by SMTP as multipart/alternative messages with a
// plain-text and an HTML part.
package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// Config is one mail relay and its recipients.
type Config struct {
	// Smarthost is the relay's host:port.
	Smarthost string
	From      string
	To        []string
	// Username and Password, when set, authenticate with PLAIN, which
	// net/smtp allows only over TLS or to localhost.
	Username string
	Password notify.Secret
	// RequireTLS refuses to send when the relay does not offer STARTTLS;
	// otherwise STARTTLS is used when offered.
	RequireTLS bool
	// TLS configures STARTTLS; nil verifies the relay's name with the
	// system roots.
	TLS *tls.Config
	// Hello is the name given in EHLO; "localhost" when empty.
	Hello string
}

// Notifier sends mail through one relay.
type Notifier struct {
	cfg      Config
	clock    clock.Clock
	template *templates
}

// New returns a Notifier for one relay. Unlike the HTTP receivers it takes
// no *http.Client; it dials the relay itself, bounded by the context.
func New(cfg Config, clock clock.Clock) *Notifier {
	if cfg.Hello == "" {
		cfg.Hello = "localhost"
	}
	return &Notifier{cfg: cfg, clock: clock, template: newTemplates()}
}

// Notify sends one message to every recipient. SMTP 4xx replies are
// retried; 5xx replies are permanent.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	msg, err := n.Message(note)
	if err != nil {
		return notify.NoRetry(err)
	}
	if err := n.send(ctx, msg); err != nil {
		return classify(ctx, err)
	}
	return false, nil
}

func (n *Notifier) send(ctx context.Context, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.cfg.Smarthost)
	if err != nil {
		return fmt.Errorf("dial %s: %w", n.cfg.Smarthost, err)
	}
	// net/smtp has no context; a deadline, moved to the past when ctx ends,
	// stops a stuck relay from holding the attempt.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	host, _, _ := net.SplitHostPort(n.cfg.Smarthost)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greet %s: %w", n.cfg.Smarthost, err)
	}
	defer c.Close()
	if err := n.converse(c, host, msg); err != nil {
		return fmt.Errorf("send mail via %s: %w", n.cfg.Smarthost, err)
	}
	return nil
}

func (n *Notifier) converse(c *smtp.Client, host string, msg []byte) error {
	if err := c.Hello(n.cfg.Hello); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := n.cfg.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return err
		}
	} else if n.cfg.RequireTLS {
		return errNoTLS
	}
	if n.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.cfg.Username, string(n.cfg.Password), host)); err != nil {
			return err
		}
	}
	if err := c.Mail(n.cfg.From); err != nil {
		return err
	}
	for _, to := range n.cfg.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

var errNoTLS = errors.New("relay does not offer STARTTLS and require_tls is set; enable TLS on the relay or unset require_tls")

func classify(ctx context.Context, err error) (bool, error) {
	var te *textproto.Error
	switch {
	case errors.As(err, &te) && te.Code >= 400 && te.Code < 500:
		return true, &notify.Error{Reason: notify.ReasonServerError, StatusCode: te.Code, Err: err}
	case errors.As(err, &te):
		return false, &notify.Error{Reason: notify.ReasonClientError, StatusCode: te.Code, Err: err}
	case errors.Is(err, errNoTLS):
		return false, &notify.Error{Reason: notify.ReasonClientError, Err: err}
	default:
		return notify.TransportError(ctx, err)
	}
}

// messageID is stable for a notification, so a mail resent after a crash
// threads with (and in some clients collapses into) the first.
func messageID(dedupKey string) string {
	return "<" + digest(dedupKey) + "@firebreak>"
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
