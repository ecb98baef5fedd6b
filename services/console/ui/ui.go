// Package ui holds the console's templates and static files, embedded in
// the binary, and renders pages with html/template, which escapes every
// value by its context: customer text is hostile input and reaches the page
// only as text.
package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/console/view"
	"github.com/firebreak/firebreak/services/platform/wording"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Static serves the stylesheet, the script and the icon under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files change only with the binary; a version in the URL busts it.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// Pages are the parsed templates.
type Pages struct {
	pages map[string]*template.Template
}

// pageNames are the top-level pages; each is parsed with the layout and the
// shared fragments.
var pageNames = []string{"queue", "case", "error", "insights", "policy"}

// Load parses the templates.
func Load() (*Pages, error) {
	p := &Pages{pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/fragments.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return p, nil
}

// Render writes a whole page, or with fragment set only the named block
// (the part a live update replaces). It renders into a buffer first, so a
// template error becomes a clean 500, not half a page.
func (p *Pages) Render(w http.ResponseWriter, status int, page, fragment string, data any) error {
	t, ok := p.pages[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	name := "layout"
	if fragment != "" {
		name = fragment
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "the page could not be drawn; the console's log says why", http.StatusInternalServerError)
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := io.Copy(w, &buf)
	return err
}

// Execute renders a page into w without HTTP, for benchmarks and tests.
func (p *Pages) Execute(w io.Writer, page string, data any) error {
	return p.pages[page].ExecuteTemplate(w, "layout", data)
}

var funcs = template.FuncMap{
	"priority":  view.Priority,
	"state":     view.State,
	"platform":  view.Platform,
	"tier":      view.Tier,
	"outcome":   view.Outcome,
	"thousands": wording.Thousands,
	"percent":   view.Percent,
	"reach":     func(c *fbv1.Case) string { return view.Reach(c.GetAuthor().GetFollowers(), c.GetReach()) },
	"profile":   view.ProfileURL,
	"weburl":    view.WebURL,
	"when":      when,
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ago":       view.Ago,
	"ts":        func(t interface{ AsTime() time.Time }) time.Time { return t.AsTime() },
	"clock":     view.FirstResponse,
	"lower":     strings.ToLower,
	"inc":       func(n int32) int32 { return n + 1 },
	"eventname": view.EventName,
	"join":      strings.Join,
	"duration":  Duration,
	"mentions":  view.MentionCount,
	"pct":       func(n, of int64) string { return view.Percent(float64(n) / float64(max(of, 1))) },
}

// Duration says a span of time in the units people use for it.
func Duration(d interface{ AsDuration() time.Duration }) string {
	if d == nil {
		return ""
	}
	v := d.AsDuration()
	switch {
	case v < time.Minute:
		return fmt.Sprintf("%ds", int(v.Seconds()))
	case v < time.Hour:
		return fmt.Sprintf("%dm", int(v.Minutes()))
	}
	return fmt.Sprintf("%dh %02dm", int(v.Hours()), int(v.Minutes())%60)
}

// when formats a time for people: UTC, to the minute; "" for none.
func when(t time.Time) string {
	if t.IsZero() || t.Unix() == 0 {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
