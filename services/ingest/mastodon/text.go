package mastodon

import (
	"strings"

	"golang.org/x/net/html"
)

// Text turns a status's HTML content into plain text: paragraphs and line
// breaks become newlines, tags go, entities are decoded. Mastodon's HTML is
// a small sanitised subset, so a tokenizer is enough.
func Text(content string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(content))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(b.String())
		case html.TextToken:
			b.Write(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			if string(name) == "br" {
				b.WriteByte('\n')
			}
			if string(name) == "p" && b.Len() > 0 {
				b.WriteString("\n\n")
			}
		}
	}
}
