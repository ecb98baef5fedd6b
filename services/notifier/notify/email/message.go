package email

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
)

// caseView is what the templates show of one case.
type caseView struct {
	Title, Author, Reach, Priority, Team, Link string
	Level                                      int32
	Reasons, Texts                             []string
}

type view struct {
	Title string
	Cases []caseView
}

const textBody = `{{.Title}}
{{range .Cases}}
{{.Title}}
Author:   {{.Author}}
Reach:    {{.Reach}}
Priority: {{.Priority}}, team {{.Team}}, level {{.Level}}
{{if .Reasons}}Why:
{{range .Reasons}}  - {{.}}
{{end}}{{end}}{{if .Texts}}What they said:
{{range .Texts}}  > {{.}}
{{end}}{{end}}{{if .Link}}Open the case: {{.Link}}
{{end}}{{end}}`

const htmlBody = `<!DOCTYPE html>
<html><body>
<h2>{{.Title}}</h2>
{{range .Cases}}<h3>{{.Title}}</h3>
<table>
<tr><th align="left">Author</th><td>{{.Author}}</td></tr>
<tr><th align="left">Reach</th><td>{{.Reach}}</td></tr>
<tr><th align="left">Priority</th><td>{{.Priority}}, team {{.Team}}, level {{.Level}}</td></tr>
</table>
{{if .Reasons}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Texts}}<blockquote>{{.}}</blockquote>{{end}}
{{if .Link}}<p><a href="{{.Link}}">Open the case</a></p>{{end}}
{{end}}</body></html>
`

type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// newTemplates parses the constant templates; a parse error is a bug here,
// caught by any test, hence Must.
func newTemplates() *templates {
	return &templates{
		text: texttemplate.Must(texttemplate.New("text").Parse(textBody)),
		html: htmltemplate.Must(htmltemplate.New("html").Parse(htmlBody)),
	}
}

func newView(note *notify.Notification) view {
	v := view{Title: notify.GroupTitle(note)}
	for _, ev := range note.Events {
		c := ev.GetCase()
		v.Cases = append(v.Cases, caseView{
			Title:    notify.Title(ev),
			Author:   notify.Author(c),
			Reach:    notify.ReachText(c),
			Priority: notify.PriorityName(c.GetPriority()),
			Team:     c.GetTeam(),
			Level:    notify.Level(ev),
			Link:     note.CaseLink(c.GetId()),
			Reasons:  notify.Reasons(ev),
			Texts:    c.GetTexts(),
		})
	}
	return v
}

// Message renders the RFC 5322 message for a notification.
func (n *Notifier) Message(note *notify.Notification) ([]byte, error) {
	v := newView(note)
	var text, html bytes.Buffer
	if err := n.template.text.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("render text part of %s: %w", note.DedupKey, err)
	}
	if err := n.template.html.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("render HTML part of %s: %w", note.DedupKey, err)
	}
	var msg bytes.Buffer
	mw := multipart.NewWriter(&msg)
	// A boundary from the dedup key keeps a resent message byte-identical.
	if err := mw.SetBoundary("firebreak-" + digest(note.DedupKey)); err != nil {
		return nil, fmt.Errorf("set MIME boundary: %w", err)
	}
	header := n.header(note, v.Title, mw.Boundary())
	for _, part := range []struct {
		contentType string
		body        []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		if err := writePart(mw, part.contentType, part.body); err != nil {
			return nil, fmt.Errorf("write %s part of %s: %w", part.contentType, note.DedupKey, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("close MIME message %s: %w", note.DedupKey, err)
	}
	return append(header, msg.Bytes()...), nil
}

func (n *Notifier) header(note *notify.Notification, subject, boundary string) []byte {
	var b bytes.Buffer
	for _, kv := range [][2]string{
		{"From", n.cfg.From},
		{"To", strings.Join(n.cfg.To, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", n.clock.Now().Format(time.RFC1123Z)},
		{"Message-ID", messageID(note.DedupKey)},
		{"MIME-Version", "1.0"},
		{"Content-Type", `multipart/alternative; boundary="` + boundary + `"`},
	} {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], kv[1])
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func writePart(mw *multipart.Writer, contentType string, body []byte) error {
	w, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write(body); err != nil {
		return err
	}
	return qp.Close()
}
