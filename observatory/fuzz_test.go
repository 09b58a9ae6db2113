package observatory

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"

	"ritual/trace"
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

// FuzzReport: any event log `ritual view` can read renders to a page that
// is well-formed markup, or to an error; it never panics.
func FuzzReport(f *testing.F) {
	f.Add([]byte(`{"event":"login.start","time":"2026-11-25T12:00:00Z","side":"CLIENT","layer":"LOGIN","from":"client","to":"login","uri":"http://x/","first":"A","last":"B","format":"xmlrpc"}` + "\n" +
		`{"event":"world.view","time":"2026-11-25T12:00:01Z","side":"CLIENT","layer":"UDP","size_x":256,"size_y":256,"water":20,"w":2,"h":2,"heights":[1,2,3,40],"patches":1,"of":4,"objects":[{"kind":"prim","x":1,"y":2,"z":3,"sx":1e30,"sy":-5}]}` + "\n" +
		`{"event":"ritual.stall","time":"2026-11-25T12:00:02Z","side":"CLIENT","layer":"UDP","step":3,"last_seen":"<b>","expected":"x","causes":["a & b"]}` + "\n"))
	f.Add([]byte(`{"event":"world.view","w":-1,"h":5,"heights":[]}` + "\n"))
	f.Add([]byte(`{"event":"udp.packet","dir":"SEND","message":"LayerData","fields":[{"key":"patches","value":"99999999999"}]}` + "\n"))
	f.Fuzz(func(t *testing.T, log []byte) {
		evs, _ := trace.ReadJSONL(bytes.NewReader(log))
		var b bytes.Buffer
		if err := Report(&b, evs, Options{}); err != nil {
			return
		}
		d := xml.NewDecoder(&b)
		d.Strict = true
		d.Entity = xml.HTMLEntity
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("malformed report: %v", err)
			}
		}
	})
}
