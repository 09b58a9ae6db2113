package proxy

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Limits of the documents the proxy reads to rewrite.
const (
	// maxDepth bounds element nesting; login replies, seed answers and
	// event-queue bodies nest fewer than 12 deep.
	maxDepth = 64
	// maxNodes bounds the elements of one document (a login reply with a
	// large inventory skeleton has a few thousand).
	maxNodes = 1 << 18
)

// errDocument reports a body that is not a document the proxy can rewrite.
var errDocument = errors.New("proxy: not a well-formed XML document")

// node is one element of an XML document, with where its text lies in the
// original bytes so a value can be replaced without touching anything else.
type node struct {
	name     string
	attrs    []xml.Attr
	children []*node
	// text is the element's character data, decoded.
	text string
	// start and end delimit the element's content in the document: for
	// an element with text, its character data as written (entities and
	// CDATA included); for an empty element, the empty range where text
	// would go (start == end), or -1 for a self-closing element.
	start, end int
}

// parseDoc reads data into a tree of elements. It reads byte offsets from
// the decoder, so data must be the whole document.
func parseDoc(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var (
		root  *node
		stack []*node
		count int
	)
	for {
		before := int(d.InputOffset())
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errDocument, err)
		}
		after := int(d.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxNodes || len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: more than %d elements or %d levels", errDocument, maxNodes, maxDepth)
			}
			n := &node{name: t.Name.Local, attrs: slices.Clone(t.Attr), start: after, end: after}
			if after >= 2 && data[after-2] == '/' {
				n.start, n.end = -1, -1
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", errDocument)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: unbalanced end element", errDocument)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			n := stack[len(stack)-1]
			if len(n.children) > 0 || n.start < 0 {
				continue // white space between child elements
			}
			if n.text == "" {
				n.start = before
			}
			n.text += string(t)
			n.end = after
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, fmt.Errorf("%w: no complete root element", errDocument)
	}
	return root, nil
}

// child returns the first child element called name.
func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// edit replaces the content of one element.
type edit struct {
	start, end int
	text       string
}

// splice applies edits to data: each replaces data[start:end] with its text
// escaped for XML. Edits must not overlap.
func splice(data []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return data
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	out := make([]byte, 0, len(data)+64*len(edits))
	at := 0
	for _, e := range edits {
		out = append(out, data[at:e.start]...)
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(e.text))
		out = append(out, b.Bytes()...)
		at = e.end
	}
	return append(out, data[at:]...)
}

// setText returns the edit that makes n's content text, and whether n can
// take one (a self-closing element cannot without rewriting its tag).
func (n *node) setText(text string) (edit, bool) {
	if n.start < 0 {
		return edit{}, false
	}
	return edit{start: n.start, end: n.end, text: text}, true
}

// llsdMap walks an LLSD <map>: it calls f with each key and its value
// element.
func llsdMap(m *node, f func(key string, v *node)) {
	if m == nil || m.name != "map" {
		return
	}
	for i := 0; i+1 < len(m.children); i += 2 {
		k := m.children[i]
		if k.name != "key" {
			return
		}
		f(k.text, m.children[i+1])
	}
}

// llsdGet returns the value of key in an LLSD <map>, or nil.
func llsdGet(m *node, key string) *node {
	var out *node
	llsdMap(m, func(k string, v *node) {
		if out == nil && k == key {
			out = v
		}
	})
	return out
}

// llsdArray returns the elements of an LLSD <array>.
func llsdArray(a *node) []*node {
	if a == nil || a.name != "array" {
		return nil
	}
	return a.children
}

// xmlrpcMembers walks the members of an XML-RPC <struct>: it calls f with
// each member's name and the typed element inside its <value> (for a bare
// <value>text</value>, the <value> itself).
func xmlrpcMembers(st *node, f func(name string, v *node)) {
	if st == nil || st.name != "struct" {
		return
	}
	for _, m := range st.children {
		if m.name != "member" {
			continue
		}
		nm, val := m.child("name"), m.child("value")
		if nm == nil || val == nil {
			continue
		}
		v := val
		if len(val.children) == 1 {
			v = val.children[0]
		}
		f(nm.text, v)
	}
}
