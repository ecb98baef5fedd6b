package email_test

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/email"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// smtpServer is a minimal RFC 5321 server on loopback: enough of EHLO, MAIL,
// RCPT, DATA, RSET and QUIT to take a message. Replies scripted in reject are
// given to DATA first (451 is a transient failure, 554 a permanent one).
type smtpServer struct {
	ln     net.Listener
	mu     sync.Mutex
	reject []string
	msgs   []message
	wg     sync.WaitGroup
}

type message struct {
	from string
	to   []string
	data string
}

func startSMTP(t *testing.T, reject ...string) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, reject: reject}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 localhost ESMTP test")
	var m message
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			tp.PrintfLine("250-localhost greets you")
			tp.PrintfLine("250 8BITMIME")
		case "MAIL":
			m = message{from: addr(line)}
			tp.PrintfLine("250 OK")
		case "RCPT":
			m.to = append(m.to, addr(line))
			tp.PrintfLine("250 OK")
		case "DATA":
			tp.PrintfLine("354 End data with <CR><LF>.<CR><LF>")
			data, _ := io.ReadAll(tp.DotReader())
			m.data = string(data)
			tp.PrintfLine("%s", s.take(m))
		case "RSET", "NOOP":
			tp.PrintfLine("250 OK")
		case "QUIT":
			tp.PrintfLine("221 Bye")
			return
		default:
			tp.PrintfLine("502 Command not implemented")
		}
	}
}

// addr is the path in "MAIL FROM:<a@b> BODY=8BITMIME" or "RCPT TO:<a@b>".
func addr(line string) string {
	_, rest, _ := strings.Cut(line, "<")
	path, _, _ := strings.Cut(rest, ">")
	return path
}

func (s *smtpServer) take(m message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reject) > 0 {
		r := s.reject[0]
		s.reject = s.reject[1:]
		return r
	}
	s.msgs = append(s.msgs, m)
	return "250 OK: queued"
}

func (s *smtpServer) messages() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs
}

func notifier(s *smtpServer) *email.Notifier {
	return email.New(email.Config{Smarthost: s.ln.Addr().String(), From: "firebreak@acme.example", To: []string{"senior@acme.example", "duty@acme.example"}}, clocktest.New(t0))
}

func note() *notify.Notification {
	ev := notifytest.Opened("case-1", "senior", t0)
	return &notify.Notification{Events: []*fbv1.CaseEvent{ev}, Receiver: "mail", DedupKey: notify.Key(ev, "mail"), LinkBase: "https://firebreak.example"}
}

func TestMailHasTextAndHTMLParts(t *testing.T) {
	s := startSMTP(t)
	if _, err := notifier(s).Notify(t.Context(), note()); err != nil {
		t.Fatal(err)
	}
	got := s.messages()
	if len(got) != 1 || got[0].from != "firebreak@acme.example" || strings.Join(got[0].to, ",") != "senior@acme.example,duty@acme.example" {
		t.Fatalf("envelope %+v", got)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.HasPrefix(subject, "[acme-mobile] @frequentflyer (Sam Doe), verified on x: critical, level 1") {
		t.Errorf("Subject %q", subject)
	}
	mediaType, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q", mediaType)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			break
		}
		body, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(body)
	}
	if !strings.Contains(parts["text/plain"], "Reach:    332,000 followers, 1.6x the brand's 203,000 (rival)") ||
		!strings.Contains(parts["text/plain"], "Open the case: https://firebreak.example/cases/case-1") {
		t.Errorf("text part:\n%s", parts["text/plain"])
	}
	if !strings.Contains(parts["text/html"], "<blockquote>Second time asking: &lt;when&gt; will it be fixed?</blockquote>") ||
		!strings.Contains(parts["text/html"], `<a href="https://firebreak.example/cases/case-1">`) {
		t.Errorf("HTML part:\n%s", parts["text/html"])
	}
}

func TestTransientRejectionIsRetriedPermanentIsNot(t *testing.T) {
	for _, tt := range []struct {
		reply  string
		retry  bool
		reason notify.Reason
	}{
		{"451 4.3.0 Try again later", true, notify.ReasonServerError},
		{"554 5.7.1 Rejected", false, notify.ReasonClientError},
	} {
		s := startSMTP(t, tt.reply)
		retry, err := notifier(s).Notify(t.Context(), note())
		if retry != tt.retry || notify.ReasonOf(err) != tt.reason {
			t.Errorf("%s: retry=%v err=%v; want retry=%v reason=%s", tt.reply, retry, err, tt.retry, tt.reason)
		}
	}
}

func TestRequireTLSRefusesPlainRelay(t *testing.T) {
	s := startSMTP(t)
	n := email.New(email.Config{Smarthost: s.ln.Addr().String(), From: "a@b", To: []string{"c@d"}, RequireTLS: true}, clocktest.New(t0))
	retry, err := n.Notify(t.Context(), note())
	if retry || err == nil || len(s.messages()) != 0 {
		t.Fatalf("retry=%v err=%v sent=%d; want a permanent refusal and nothing sent", retry, err, len(s.messages()))
	}
}

// A relay that accepts the connection and then says nothing must not hold
// the attempt past its deadline.
func TestSilentRelayTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accept and stay silent
		}
	}()
	n := email.New(email.Config{Smarthost: ln.Addr().String(), From: "a@b", To: []string{"c@d"}}, clocktest.New(t0))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	retry, err := n.Notify(ctx, note())
	ln.Close()
	<-done
	for _, c := range held {
		c.Close()
	}
	if !retry || notify.ReasonOf(err) != notify.ReasonTimeout {
		t.Fatalf("retry=%v err=%v; want a retryable timeout", retry, err)
	}
}
