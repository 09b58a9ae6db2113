package observatory

import (
	"bytes"
	"html"
	"strings"
	"unicode"
)

// markdownHTML turns the narrative's Markdown into HTML. It reads the
// subset package narrative writes — headings, rules, paragraphs, bullet
// and numbered lists, block quotes, fenced code, **bold**, *emphasis*
// and `code` — and escapes everything else as text, so recorded values
// can never become markup.
func markdownHTML(md string) string {
	var b bytes.Buffer
	lines := strings.Split(clean(strings.ReplaceAll(md, "\r\n", "\n")), "\n")
	list := "" // "ul" or "ol" while in a list
	para := false
	closeBlock := func() {
		if para {
			b.WriteString("</p>\n")
			para = false
		}
		if list != "" {
			b.WriteString("</li></" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			closeBlock()
		case strings.HasPrefix(t, "```"):
			closeBlock()
			b.WriteString("<pre><code>")
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				b.WriteString(html.EscapeString(lines[i]) + "\n")
			}
			b.WriteString("</code></pre>\n")
		case strings.HasPrefix(t, "#"):
			closeBlock()
			n := len(t) - len(strings.TrimLeft(t, "#"))
			if n > 6 || len(t) == n || t[n] != ' ' {
				goto text
			}
			// The report's own title is h1; the narrative's headings sit
			// one level lower.
			lvl := min(n+1, 6)
			b.WriteString("<h" + string(rune('0'+lvl)) + ">" + inline(strings.TrimSpace(t[n:])) + "</h" + string(rune('0'+lvl)) + ">\n")
		case t == "---" || t == "***":
			closeBlock()
			b.WriteString("<hr />\n")
		case strings.HasPrefix(t, "> "):
			closeBlock()
			b.WriteString("<blockquote><p>" + inline(strings.TrimPrefix(t, "> ")) + "</p></blockquote>\n")
		case strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* "):
			if para {
				b.WriteString("</p>\n")
				para = false
			}
			if list != "ul" {
				if list != "" {
					b.WriteString("</li></" + list + ">\n")
				}
				b.WriteString("<ul>\n<li>")
				list = "ul"
			} else {
				b.WriteString("</li>\n<li>")
			}
			b.WriteString(inline(strings.TrimSpace(t[2:])))
		case orderedItem(t) > 0:
			if para {
				b.WriteString("</p>\n")
				para = false
			}
			k := orderedItem(t)
			if list != "ol" {
				if list != "" {
					b.WriteString("</li></" + list + ">\n")
				}
				b.WriteString("<ol>\n<li>")
				list = "ol"
			} else {
				b.WriteString("</li>\n<li>")
			}
			b.WriteString(inline(strings.TrimSpace(t[k:])))
		default:
			goto text
		}
		continue
	text:
		switch {
		case list != "" && strings.HasPrefix(l, " "):
			b.WriteString(" " + inline(t)) // a continuation of the item
		case para:
			b.WriteString("\n" + inline(t))
		default:
			closeBlock()
			b.WriteString("<p>" + inline(t))
			para = true
		}
	}
	closeBlock()
	return b.String()
}

// orderedItem returns the length of a "12. " prefix, or 0.
func orderedItem(t string) int {
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 || i+1 >= len(t) || t[i] != '.' || t[i+1] != ' ' {
		return 0
	}
	return i + 1
}

// inline renders code spans, bold and emphasis, escaping the rest.
func inline(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case s[0] == '`':
			n := len(s) - len(strings.TrimLeft(s, "`"))
			fence := s[:n]
			if j := strings.Index(s[n:], fence); j >= 0 {
				b.WriteString("<code>" + html.EscapeString(strings.TrimSpace(s[n:n+j])) + "</code>")
				s = s[n+j+n:]
				continue
			}
			b.WriteString(html.EscapeString(fence))
			s = s[n:]
		case strings.HasPrefix(s, "**"):
			if j := strings.Index(s[2:], "**"); j > 0 {
				b.WriteString("<strong>" + inline(s[2:2+j]) + "</strong>")
				s = s[2+j+2:]
				continue
			}
			b.WriteString("**")
			s = s[2:]
		case s[0] == '*' && len(s) > 1 && !unicode.IsSpace(rune(s[1])):
			if j := strings.IndexByte(s[1:], '*'); j > 0 {
				b.WriteString("<em>" + inline(s[1:1+j]) + "</em>")
				s = s[1+j+1:]
				continue
			}
			b.WriteString("*")
			s = s[1:]
		default:
			j := strings.IndexAny(s, "`*")
			if j < 0 {
				j = len(s)
			}
			if j == 0 {
				j = 1
			}
			b.WriteString(html.EscapeString(s[:j]))
			s = s[j:]
		}
	}
	return b.String()
}
