package template

import "strconv"

// AppendText appends f in template syntax: one message per brace group,
// blocks and fields indented, no comments. Parsing the result gives back f
// (apart from line numbers).
func (f *File) AppendText(b []byte) []byte {
	b = append(b, "version "...)
	b = append(b, f.Version...)
	b = append(b, '\n')
	for i := range f.Messages {
		b = append(b, '\n')
		b = f.Messages[i].AppendText(b)
	}
	return b
}

// String returns the template text of f.
func (f *File) String() string { return string(f.AppendText(nil)) }

// AppendText appends the message's definition in template syntax.
func (m *Message) AppendText(b []byte) []byte {
	b = append(b, "{\n\t"...)
	b = append(b, m.Name...)
	b = append(b, ' ')
	b = append(b, m.Frequency.String()...)
	b = append(b, ' ')
	b = append(b, numberText(*m)...)
	if m.Trusted {
		b = append(b, " Trusted"...)
	} else {
		b = append(b, " NotTrusted"...)
	}
	if m.Zerocoded {
		b = append(b, " Zerocoded"...)
	} else {
		b = append(b, " Unencoded"...)
	}
	if m.Deprecation != NotDeprecated {
		b = append(b, ' ')
		b = append(b, m.Deprecation.String()...)
	}
	b = append(b, '\n')
	for _, blk := range m.Blocks {
		b = append(b, "\t{\n\t\t"...)
		b = append(b, blk.Name...)
		b = append(b, ' ')
		b = append(b, blk.Kind.String()...)
		if blk.Kind == Multiple {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(blk.Count), 10)
		}
		b = append(b, '\n')
		for _, fld := range blk.Fields {
			b = append(b, "\t\t{\t"...)
			b = append(b, fld.Name...)
			b = append(b, '\t')
			b = append(b, fld.Type.String()...)
			if fld.Type == TypeFixed || fld.Type == TypeVariable {
				b = append(b, ' ')
				b = strconv.AppendInt(b, int64(fld.Size), 10)
			}
			b = append(b, "\t}\n"...)
		}
		b = append(b, "\t}\n"...)
	}
	b = append(b, "}\n"...)
	return b
}
