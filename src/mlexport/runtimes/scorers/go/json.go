package scorer

// A small, strict JSON reader for documents.
//
// encoding/json would do, but this reader gives what a scorer of untrusted
// documents needs: integer tokens told apart from float tokens (the format
// refuses 1.0 where it wants an integer, like the Python reference), arrays of
// plain numbers stored compactly as []float64 (a forest is millions of
// numbers), a nesting limit, a clear message for a bare NaN / Infinity token,
// and errors that give the line and column.

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum    // a number token
	jStr    // a string
	jArr    // an array (empty, or holding anything but only number tokens)
	jNumArr // a non-empty array made only of number tokens
	jObj    // an object
)

func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "boolean"
	case jNum:
		return "number"
	case jStr:
		return "string"
	case jArr, jNumArr:
		return "array"
	default:
		return "object"
	}
}

type jmember struct {
	key string
	val *jval
}

type jval struct {
	kind  jkind
	b     bool
	isInt bool    // jNum: the token had no fraction or exponent
	num   float64 // jNum
	str   string  // jStr; jNum: the token text
	arr   []*jval // jArr
	nums  []float64
	// jNumArr: whether each token was an integer token: all of them are
	// uniformInt when intMask is nil (the usual case), else intMask[i].
	uniformInt bool
	intMask    []bool
	obj        []jmember // jObj, first-seen order; a repeated key keeps its last value
	index      map[string]int
}

// get returns the member named key, or nil.
func (v *jval) get(key string) *jval {
	if v.index != nil {
		if i, ok := v.index[key]; ok {
			return v.obj[i].val
		}
		return nil
	}
	for i := range v.obj {
		if v.obj[i].key == key {
			return v.obj[i].val
		}
	}
	return nil
}

func (v *jval) has(key string) bool { return v.get(key) != nil }

// tokenIsInt tells whether element i of a jNumArr was an integer token.
func (v *jval) tokenIsInt(i int) bool {
	if v.intMask != nil {
		return v.intMask[i]
	}
	return v.uniformInt
}

// firstNonInt is the index of the first non-integer token of a jNumArr, -1 if none.
func (v *jval) firstNonInt() int {
	if v.intMask == nil {
		if v.uniformInt || len(v.nums) == 0 {
			return -1
		}
		return 0
	}
	for i, isInt := range v.intMask {
		if !isInt {
			return i
		}
	}
	return -1
}

// length of an array value (0 for others).
func (v *jval) length() int {
	if v.kind == jNumArr {
		return len(v.nums)
	}
	return len(v.arr)
}

// describe a value for an error message, Python-repr style and short.
func (v *jval) describe() string {
	switch v.kind {
	case jNull:
		return "None"
	case jBool:
		if v.b {
			return "True"
		}
		return "False"
	case jNum:
		if len(v.str) > 40 {
			return v.str[:40] + "..."
		}
		return v.str
	case jStr:
		return pyQuote(v.str, 60)
	case jArr, jNumArr:
		return fmt.Sprintf("an array of %d items", v.length())
	default:
		return "an object"
	}
}

// SyntaxError is a document that is not valid JSON.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("not valid JSON: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

const maxDepth = 512

type parser struct {
	data []byte
	pos  int
}

func parseJSON(data []byte) (v *jval, err error) {
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		p := &parser{data: data, pos: i}
		return nil, p.fail("invalid UTF-8 byte")
	}
	p := &parser{data: data}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		p.pos = 3 // byte order mark
	}
	p.ws()
	v, err = p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos < len(p.data) {
		return nil, p.fail("extra data after the document")
	}
	return v, nil
}

func (p *parser) fail(format string, args ...interface{}) error {
	line, col := 1, 1
	end := p.pos
	if end > len(p.data) {
		end = len(p.data)
	}
	for i := 0; i < end; i++ {
		if p.data[i] == '\n' {
			line++
			col = 1
		} else if p.data[i]&0xC0 != 0x80 {
			col++
		}
	}
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) peek() byte {
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *parser) hasPrefix(s string) bool {
	return len(p.data)-p.pos >= len(s) && string(p.data[p.pos:p.pos+len(s)]) == s
}

func (p *parser) unexpected() error {
	if p.pos >= len(p.data) {
		return p.fail("unexpected end of document (truncated?)")
	}
	for _, name := range []string{"NaN", "Infinity", "-Infinity"} {
		if p.hasPrefix(name) {
			return p.fail("bare %s is not JSON; write it as the string \"%s\"", name, name)
		}
	}
	c := p.data[p.pos]
	if c < 0x20 || c >= 0x7f {
		return p.fail("unexpected character %q", rune(c))
	}
	return p.fail("unexpected character '%c'", c)
}

func (p *parser) value(depth int) (*jval, error) {
	if depth > maxDepth {
		return nil, p.fail("nested more than %d levels deep", maxDepth)
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return &jval{kind: jStr, str: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		f, isInt, text, err := p.number()
		if err != nil {
			return nil, err
		}
		return &jval{kind: jNum, num: f, isInt: isInt, str: text}, nil
	case p.hasPrefix("true"):
		p.pos += 4
		return &jval{kind: jBool, b: true}, nil
	case p.hasPrefix("false"):
		p.pos += 5
		return &jval{kind: jBool}, nil
	case p.hasPrefix("null"):
		p.pos += 4
		return &jval{kind: jNull}, nil
	default:
		return nil, p.unexpected()
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads one number token: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() (f float64, isInt bool, text string, err error) {
	start := p.pos
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if i < len(d) && d[i] >= '1' && d[i] <= '9' {
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	} else {
		p.pos = start
		return 0, false, "", p.unexpected()
	}
	isInt = true
	if i < len(d) && d[i] == '.' {
		isInt = false
		i++
		if i >= len(d) || !isDigit(d[i]) {
			p.pos = i
			return 0, false, "", p.fail("a digit must follow the decimal point")
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		isInt = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			p.pos = i
			return 0, false, "", p.fail("a digit must follow the exponent")
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	text = string(d[start:i])
	f, perr := strconv.ParseFloat(text, 64)
	if perr != nil {
		// Only a range error is possible for a well-formed token. A float token
		// beyond the float64 range reads as +-Infinity (as in Python); an
		// integer token that large is refused.
		if isInt && math.IsInf(f, 0) {
			p.pos = start
			return 0, false, "", p.fail("integer %s is too large", shorten(text, 30))
		}
	}
	p.pos = i
	return f, isInt, text, nil
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func (p *parser) string() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	d := p.data
	// fast path: no escapes
	i := start
	for i < len(d) {
		c := d[i]
		if c == '"' {
			p.pos = i + 1
			return string(d[start:i]), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.pos = i
			return "", p.fail("control character %q in a string", rune(c))
		}
		i++
	}
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, d[start:i]...)
	for {
		if i >= len(d) {
			p.pos = i
			return "", p.fail("unterminated string (truncated?)")
		}
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.fail("control character %q in a string", rune(c))
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		i++ // backslash
		if i >= len(d) {
			p.pos = i
			return "", p.fail("unterminated string (truncated?)")
		}
		e := d[i]
		i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d, i)
			if !ok {
				p.pos = i
				return "", p.fail("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+6 <= len(d) && d[i] == '\\' && d[i+1] == 'u' {
					r2, ok2 = hex4(d, i+2)
				}
				if ok2 {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.pos = i - 1
			return "", p.fail("invalid escape '\\%c'", e)
		}
	}
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

func (p *parser) array(depth int) (*jval, error) {
	p.pos++ // '['
	p.ws()
	if p.peek() == ']' {
		p.pos++
		return &jval{kind: jArr}, nil
	}
	// Fast path: an array of number tokens only, stored as []float64.
	if c := p.peek(); c == '-' || isDigit(c) {
		start := p.pos
		nums := make([]float64, 0, 8)
		var mask []bool
		uniform := false
		for {
			f, isInt, _, err := p.number()
			if err != nil {
				return nil, err
			}
			switch {
			case len(nums) == 0:
				uniform = isInt
			case mask != nil:
				mask = append(mask, isInt)
			case isInt != uniform: // the first mixed token: from now on, one flag per token
				mask = make([]bool, len(nums), cap(nums))
				for i := range mask {
					mask[i] = uniform
				}
				mask = append(mask, isInt)
			}
			nums = append(nums, f)
			p.ws()
			switch p.peek() {
			case ']':
				p.pos++
				return &jval{kind: jNumArr, nums: nums, uniformInt: uniform, intMask: mask}, nil
			case ',':
				p.pos++
				p.ws()
				if c := p.peek(); c == '-' || isDigit(c) {
					continue
				}
				// something else follows (rare: a "NaN" string among numbers):
				// read the array again as a generic one.
				p.pos = start
				p.ws()
				return p.arrayRest(nil, depth)
			default:
				return nil, p.expected("',' or ']' in an array")
			}
		}
	}
	return p.arrayRest(nil, depth)
}

func (p *parser) expected(what string) error {
	if p.pos >= len(p.data) {
		return p.fail("unexpected end of document (truncated?)")
	}
	for _, name := range []string{"NaN", "Infinity", "-Infinity"} {
		if p.hasPrefix(name) {
			return p.fail("bare %s is not JSON; write it as the string \"%s\"", name, name)
		}
	}
	return p.fail("expected %s", what)
}

// arrayRest reads generic elements until ']' (the cursor is at an element).
func (p *parser) arrayRest(elems []*jval, depth int) (*jval, error) {
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		elems = append(elems, v)
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
			p.ws()
		case ']':
			p.pos++
			return &jval{kind: jArr, arr: elems}, nil
		default:
			return nil, p.expected("',' or ']' in an array")
		}
	}
}

func (p *parser) object(depth int) (*jval, error) {
	p.pos++ // '{'
	v := &jval{kind: jObj}
	p.ws()
	if p.peek() == '}' {
		p.pos++
		return v, nil
	}
	for {
		if p.peek() != '"' {
			return nil, p.expected("a quoted member name")
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.peek() != ':' {
			return nil, p.expected("':' after a member name")
		}
		p.pos++
		p.ws()
		val, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		// a repeated key keeps its last value (as Python's json does)
		if i, ok := v.lookup(key); ok {
			v.obj[i].val = val
		} else {
			v.obj = append(v.obj, jmember{key, val})
			if v.index != nil {
				v.index[key] = len(v.obj) - 1
			} else if len(v.obj) > 16 {
				v.index = make(map[string]int, 2*len(v.obj))
				for j, m := range v.obj {
					v.index[m.key] = j
				}
			}
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
			p.ws()
		case '}':
			p.pos++
			return v, nil
		default:
			return nil, p.expected("',' or '}' in an object")
		}
	}
}

func (v *jval) lookup(key string) (int, bool) {
	if v.index != nil {
		i, ok := v.index[key]
		return i, ok
	}
	for i := range v.obj {
		if v.obj[i].key == key {
			return i, true
		}
	}
	return 0, false
}
