package observatory

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
)

// FuzzMarkdownHTML: any text (the narrative carries recorded values) turns
// into well-formed markup: nothing in it opens or closes an element of its
// own.
func FuzzMarkdownHTML(f *testing.F) {
	for _, s := range []string{
		"# The Ritual\n\n*A story.*\n\n## Part I\n\n1.  **[CLIENT] [LOGIN] START** `+0.0 ms`: The client begins.\n2.  x\n\n- **Server**: `a<b>`\n---\n> quote\n",
		"```\n<script>\n```", "**unclosed `code", "1. a\n   continued\n- b\n\ntext *em* **b**",
		"<img src=x onerror=alert(1)>", "`` a ` b ``", "#no heading\n####### seven",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		out := markdownHTML(md)
		d := xml.NewDecoder(bytes.NewReader([]byte("<div>" + out + "</div>")))
		d.Strict = true
		d.Entity = xml.HTMLEntity
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("%q gives malformed markup: %v\n%s", md, err, out)
			}
			if se, ok := tok.(xml.StartElement); ok {
				switch se.Name.Local {
				case "div", "p", "h2", "h3", "h4", "h5", "h6", "hr", "ul", "ol", "li", "blockquote", "pre", "code", "strong", "em":
				default:
					t.Fatalf("%q gives a <%s> element", md, se.Name.Local)
				}
				if len(se.Attr) > 0 {
					t.Fatalf("%q gives an attribute on <%s>", md, se.Name.Local)
				}
			}
		}
	})
}
