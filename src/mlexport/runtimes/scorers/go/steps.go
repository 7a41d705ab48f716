package scorer

// Transform nodes: pipeline, column_transformer, identity, impute,
// center_scale, multiply_add, one_hot, ordinal, polynomial, project.
// Each works on a batch of rows column by column, like the reference scorer.

import (
	"fmt"
	"math"
	"strings"
)

// column is one column of a batch. A cell is a string when isStr[i] (isStr is
// nil for a column without strings), otherwise the number num[i], NaN for
// missing.
type column struct {
	num   []float64
	str   []string
	isStr []bool
}

func (c column) isString(i int) bool { return c.isStr != nil && c.isStr[i] }

// isMissing: a number cell holding NaN (a missing string is one too).
func (c column) isMissing(i int) bool { return !c.isString(i) && c.num[i] != c.num[i] }

type scoreCtx struct {
	n      int // rows in the batch
	offset int // index of the batch's first row
}

// asNumber: the column as numbers; a string cell reaching a numeric step is an input error.
func (c column) asNumber(where string, sc *scoreCtx) ([]float64, error) {
	if c.isStr != nil {
		for i, s := range c.isStr {
			if s {
				return nil, inputErr("%s: string value %s reached a numeric step (row %d).", where,
					pyQuote(c.str[i], 60), sc.offset+i)
			}
		}
	}
	return c.num, nil
}

func (c column) cellRepr(i int) string {
	if c.isString(i) {
		return pyQuote(c.str[i], 60)
	}
	return pyFloat(c.num[i])
}

type step struct {
	nIn, nOut int
	widest    int // widest column count inside (for batch sizing)
	where     string
	apply     func(cols []column, sc *scoreCtx) ([]column, error)
}

var transformTypes = []string{"pipeline", "column_transformer", "identity", "impute", "center_scale",
	"multiply_add", "one_hot", "ordinal", "polynomial", "project", "expression"}

var common = []string{"type", "n_in", "n_out"}
var info = []string{"path", "class"}

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

func compileTransform(d *jval, where string) (*step, error) {
	if d == nil || d.kind != jObj || !d.has("type") {
		return nil, fail(where, "a step must be an object with a 'type'")
	}
	t := d.get("type")
	if t.kind != jStr || !contains(transformTypes, t.str) {
		return nil, fail(where, "unknown node type %s (this scorer knows %s)", t.describe(),
			strings.Join(transformTypes, ", "))
	}
	if p := d.get("path"); p != nil && p.kind == jStr {
		where = fmt.Sprintf("%s(%s '%s')", where, t.str, p.str)
	} else {
		where = fmt.Sprintf("%s(%s)", where, t.str)
	}
	var s *step
	var err error
	switch t.str {
	case "pipeline":
		s, err = cPipeline(d, where)
	case "column_transformer":
		s, err = cColumnTransformer(d, where)
	case "identity":
		s, err = cIdentity(d, where)
	case "impute":
		s, err = cImpute(d, where)
	case "center_scale":
		s, err = cCenterScale(d, where, "center", "scale")
	case "multiply_add":
		s, err = cCenterScale(d, where, "multiply", "add")
	case "one_hot":
		s, err = cOneHot(d, where)
	case "ordinal":
		s, err = cOrdinal(d, where)
	case "polynomial":
		s, err = cPolynomial(d, where)
	case "project":
		s, err = cProject(d, where)
	default:
		s, err = cExpression(d, where)
	}
	if err != nil {
		return nil, err
	}
	if s.nIn > s.widest {
		s.widest = s.nIn
	}
	if s.nOut > s.widest {
		s.widest = s.nOut
	}
	return s, nil
}

// header checks a node's fields (obj) and reads its n_in / n_out (widths).
func header(d *jval, where string, required, optional []string) (nIn, nOut int, err error) {
	if err := obj(d, where, required, optional); err != nil {
		return 0, 0, err
	}
	return widths(d, where)
}

func widths(d *jval, where string) (int, int, error) {
	nIn, err := integer(d.get("n_in"), where+".n_in", 0, MaxWidth)
	if err != nil {
		return 0, 0, err
	}
	nOut, err := integer(d.get("n_out"), where+".n_out", 0, MaxWidth)
	return nIn, nOut, err
}

func cPipeline(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, "steps"), info)
	if err != nil {
		return nil, err
	}
	list, err := array(d.get("steps"), where+".steps")
	if err != nil {
		return nil, err
	}
	var steps []*step
	cur, widest := nIn, 0
	for i, sd := range list {
		s, err := compileTransform(sd, fmt.Sprintf("%s.steps[%d]", where, i))
		if err != nil {
			return nil, err
		}
		if s.nIn != cur {
			return nil, fail(s.where, "takes %d columns but receives %d", s.nIn, cur)
		}
		cur = s.nOut
		if s.widest > widest {
			widest = s.widest
		}
		steps = append(steps, s)
	}
	if cur != nOut {
		return nil, fail(where, "n_out is %d but its steps give %d", nOut, cur)
	}
	return &step{nIn: nIn, nOut: nOut, widest: widest, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		var err error
		for _, s := range steps {
			if cols, err = s.apply(cols, sc); err != nil {
				return nil, err
			}
		}
		return cols, nil
	}}, nil
}

type ctPart struct {
	cols      []int
	node      *step
	hasWeight bool
	weight    float64
	where     string
}

func cColumnTransformer(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, "parts"), info)
	if err != nil {
		return nil, err
	}
	list, err := array(d.get("parts"), where+".parts")
	if err != nil {
		return nil, err
	}
	var parts []ctPart
	total, widest := 0, 0
	for i, p := range list {
		pw := fmt.Sprintf("%s.parts[%d]", where, i)
		if err := obj(p, pw, []string{"name", "columns", "node"}, []string{"weight"}); err != nil {
			return nil, err
		}
		if _, err := str(p.get("name"), pw+".name"); err != nil {
			return nil, err
		}
		cols, err := ints(p.get("columns"), pw+".columns", -1, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			if c < 0 || c >= nIn {
				return nil, fail(pw, "column index out of range [0, %d)", nIn)
			}
		}
		node, err := compileTransform(p.get("node"), pw+".node")
		if err != nil {
			return nil, err
		}
		if node.nIn != len(cols) {
			return nil, fail(pw, "selects %d columns but its node takes %d", len(cols), node.nIn)
		}
		part := ctPart{cols: cols, node: node, where: pw}
		if w := p.get("weight"); w != nil {
			if part.weight, err = number(w, pw+".weight"); err != nil {
				return nil, err
			}
			part.hasWeight = true
		}
		parts = append(parts, part)
		total += node.nOut
		if total > MaxWidth {
			return nil, fail(where, "more than %d output columns", MaxWidth)
		}
		if node.widest > widest {
			widest = node.widest
		}
	}
	if total != nOut {
		return nil, fail(where, "n_out is %d but its parts give %d", nOut, total)
	}
	return &step{nIn: nIn, nOut: nOut, widest: widest, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		out := make([]column, 0, nOut)
		for _, p := range parts {
			sel := make([]column, len(p.cols))
			for k, j := range p.cols {
				sel[k] = cols[j]
			}
			res, err := p.node.apply(sel, sc)
			if err != nil {
				return nil, err
			}
			if p.hasWeight {
				for k, c := range res {
					x, err := c.asNumber(p.where, sc)
					if err != nil {
						return nil, err
					}
					y := make([]float64, len(x))
					for i, v := range x {
						y[i] = v * p.weight
					}
					res[k] = column{num: y}
				}
			}
			out = append(out, res...)
		}
		return out, nil
	}}, nil
}

func cIdentity(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, common, info)
	if err != nil {
		return nil, err
	}
	if nIn != nOut {
		return nil, fail(where, "identity must have n_in == n_out")
	}
	return &step{nIn: nIn, nOut: nOut, where: where, apply: func(cols []column, _ *scoreCtx) ([]column, error) {
		return append([]column(nil), cols...), nil
	}}, nil
}

// matches: cells equal to a typed value (the number NaN matches missing cells).
func matches(c column, v cell, i int) bool {
	if v.isStr {
		return c.isString(i) && c.str[i] == v.str
	}
	if c.isString(i) {
		return false
	}
	if v.num != v.num {
		return c.num[i] != c.num[i]
	}
	return c.num[i] == v.num
}

type imputeCol struct {
	input int
	fill  cell
}

func cImpute(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, "missing_value", "columns", "indicators"), info)
	if err != nil {
		return nil, err
	}
	mv, err := typed(d.get("missing_value"), where+".missing_value")
	if err != nil {
		return nil, err
	}
	list, err := array(d.get("columns"), where+".columns")
	if err != nil {
		return nil, err
	}
	var columns []imputeCol
	for i, c := range list {
		cw := fmt.Sprintf("%s.columns[%d]", where, i)
		if err := obj(c, cw, []string{"input", "fill"}, nil); err != nil {
			return nil, err
		}
		in, err := integer(c.get("input"), cw+".input", 0, nIn-1)
		if err != nil {
			return nil, err
		}
		fill, err := typed(c.get("fill"), cw+".fill")
		if err != nil {
			return nil, err
		}
		columns = append(columns, imputeCol{in, fill})
	}
	indicators, err := ints(d.get("indicators"), where+".indicators", -1, math.MinInt32, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	for _, j := range indicators {
		if j < 0 || j >= nIn {
			return nil, fail(where, "indicator column %d out of range [0, %d)", j, nIn)
		}
	}
	if len(columns)+len(indicators) != nOut {
		return nil, fail(where, "n_out is %d but it gives %d columns", nOut, len(columns)+len(indicators))
	}
	return &step{nIn: nIn, nOut: nOut, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		n := sc.n
		masks := map[int][]bool{}
		mask := func(j int) []bool {
			if m, ok := masks[j]; ok {
				return m
			}
			m := make([]bool, n)
			c := cols[j]
			for i := range m {
				m[i] = matches(c, mv, i)
			}
			masks[j] = m
			return m
		}
		out := make([]column, 0, nOut)
		for _, ic := range columns {
			c, m := cols[ic.input], mask(ic.input)
			if !ic.fill.isStr && c.isStr == nil {
				y := make([]float64, n)
				for i := range y {
					if m[i] {
						y[i] = ic.fill.num
					} else {
						y[i] = c.num[i]
					}
				}
				out = append(out, column{num: y})
				continue
			}
			nc := column{num: append([]float64(nil), c.num...), str: make([]string, n), isStr: make([]bool, n)}
			if c.isStr != nil {
				copy(nc.str, c.str)
				copy(nc.isStr, c.isStr)
			}
			for i := range m {
				if m[i] {
					if ic.fill.isStr {
						nc.isStr[i], nc.str[i], nc.num[i] = true, ic.fill.str, math.NaN()
					} else {
						nc.isStr[i], nc.str[i], nc.num[i] = false, "", ic.fill.num
					}
				}
			}
			out = append(out, nc)
		}
		for _, j := range indicators {
			m := mask(j)
			y := make([]float64, n)
			for i, b := range m {
				if b {
					y[i] = 1
				}
			}
			out = append(out, column{num: y})
		}
		return out, nil
	}}, nil
}

// clip: values below lo become lo, above hi become hi; NaN stays NaN.
func clipValue(y, lo, hi float64) float64 {
	if y < lo {
		y = lo
	}
	if y > hi {
		y = hi
	}
	return y
}

// cCenterScale compiles center_scale ((x - a) / b) and multiply_add (x * a + b).
func cCenterScale(d *jval, where, fa, fb string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, fa, fb), with(info, "clip"))
	if err != nil {
		return nil, err
	}
	if nIn != nOut {
		return nil, fail(where, "n_in must equal n_out")
	}
	a, err := numbers(d.get(fa), where+"."+fa, nIn)
	if err != nil {
		return nil, err
	}
	b, err := numbers(d.get(fb), where+"."+fb, nIn)
	if err != nil {
		return nil, err
	}
	hasClip := d.has("clip")
	var lo, hi float64
	if hasClip {
		c, err := numbers(d.get("clip"), where+".clip", 2)
		if err != nil {
			return nil, err
		}
		lo, hi = c[0], c[1]
	}
	center := fa == "center"
	return &step{nIn: nIn, nOut: nOut, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		out := make([]column, len(cols))
		for j, c := range cols {
			x, err := c.asNumber(where, sc)
			if err != nil {
				return nil, err
			}
			y := make([]float64, len(x))
			aj, bj := a[j], b[j]
			if center {
				for i, v := range x {
					y[i] = (v - aj) / bj
				}
			} else {
				for i, v := range x {
					y[i] = float64(v*aj) + bj // explicit rounding: never fused into an FMA
				}
			}
			if hasClip {
				for i, v := range y {
					y[i] = clipValue(v, lo, hi)
				}
			}
			out[j] = column{num: y}
		}
		return out, nil
	}}, nil
}

type categories struct {
	isStr bool
	n     int
	strs  map[string]int
	nums  map[float64]int
}

func readCategories(f *jval, where string) (*categories, error) {
	kind, err := enum(f.get("kind"), where+".kind", "number", "string")
	if err != nil {
		return nil, err
	}
	if kind == "string" {
		vals, err := strs(f.get("categories"), where+".categories")
		if err != nil {
			return nil, err
		}
		c := &categories{isStr: true, n: len(vals), strs: make(map[string]int, len(vals))}
		for i, v := range vals {
			if _, ok := c.strs[v]; !ok {
				c.strs[v] = i
			}
		}
		return c, nil
	}
	vals, err := numbers(f.get("categories"), where+".categories", -1)
	if err != nil {
		return nil, err
	}
	c := &categories{n: len(vals), nums: make(map[float64]int, len(vals))}
	for i, v := range vals {
		if v != v {
			return nil, fail(where, "categories must not contain NaN (missing has its own field)")
		}
		if _, ok := c.nums[v]; !ok { // first of equal values (as a stable sort + search does)
			c.nums[v] = i
		}
	}
	return c, nil
}

// position of cell i's category, -1 when unknown or missing.
func (cats *categories) position(c column, i int) int {
	if cats.isStr {
		if !c.isString(i) {
			return -1
		}
		if p, ok := cats.strs[c.str[i]]; ok {
			return p
		}
		return -1
	}
	if c.isString(i) || c.num[i] != c.num[i] {
		return -1
	}
	if p, ok := cats.nums[c.num[i]]; ok {
		return p
	}
	return -1
}

// unknownErr: the error for a cell no category, missing or unknown code covers.
func unknownErr(fw string, c column, i int, sc *scoreCtx) error {
	what := "unknown category " + c.cellRepr(i)
	if c.isMissing(i) {
		what = "a missing value"
	}
	return inputErr("%s: %s in row %d, and the encoder was fitted with handle_unknown='error'.", fw, what, sc.offset+i)
}

type oneHotFeature struct {
	cats       *categories
	index      []int
	width      int
	hasMissing bool
	missing    int
	hasUnknown bool
	unknown    int
	where      string
}

func cOneHot(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, "features"), info)
	if err != nil {
		return nil, err
	}
	list, err := array(d.get("features"), where+".features")
	if err != nil || len(list) != nIn {
		return nil, fail(where, "features must be an array of %d objects", nIn)
	}
	var feats []oneHotFeature
	total := 0
	for i, f := range list {
		fw := fmt.Sprintf("%s.features[%d]", where, i)
		if err := obj(f, fw, []string{"kind", "categories", "index", "width", "on_unknown"}, []string{"missing", "unknown"}); err != nil {
			return nil, err
		}
		cats, err := readCategories(f, fw)
		if err != nil {
			return nil, err
		}
		width, err := integer(f.get("width"), fw+".width", 0, MaxWidth)
		if err != nil {
			return nil, err
		}
		// scikit-learn never makes more columns than categories; a tiny
		// document must not make every row allocate a huge block.
		if width > cats.n+1 {
			return nil, fail(fw, "width %d exceeds the number of categories (%d) + 1", width, cats.n)
		}
		index, err := ints(f.get("index"), fw+".index", cats.n, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		for _, x := range index {
			if x < -1 || x >= width {
				return nil, fail(fw, "index values must be in [-1, %d)", width)
			}
		}
		ft := oneHotFeature{cats: cats, index: index, width: width, where: fw}
		if f.has("missing") {
			if ft.missing, err = integer(f.get("missing"), fw+".missing", -1, width-1); err != nil {
				return nil, err
			}
			ft.hasMissing = true
		}
		onUnknown, err := enum(f.get("on_unknown"), fw+".on_unknown", "error", "encode")
		if err != nil {
			return nil, err
		}
		if onUnknown == "encode" {
			if !f.has("unknown") {
				return nil, fail(fw, "on_unknown 'encode' needs 'unknown'")
			}
			if ft.unknown, err = integer(f.get("unknown"), fw+".unknown", -1, width-1); err != nil {
				return nil, err
			}
			ft.hasUnknown = true
		} else if f.has("unknown") {
			return nil, fail(fw, "'unknown' is only allowed with on_unknown 'encode'")
		}
		feats = append(feats, ft)
		total += width
		if total > MaxWidth {
			return nil, fail(where, "more than %d output columns", MaxWidth)
		}
	}
	if total != nOut {
		return nil, fail(where, "n_out is %d but the feature widths add up to %d", nOut, total)
	}
	return &step{nIn: nIn, nOut: nOut, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		n := sc.n
		out := make([]column, 0, nOut)
		for j, ft := range feats {
			c := cols[j]
			block := make([]float64, n*ft.width) // column-major: column k is block[k*n:(k+1)*n]
			for i := 0; i < n; i++ {
				var code int
				if p := ft.cats.position(c, i); p >= 0 {
					code = ft.index[p]
				} else if ft.hasMissing && c.isMissing(i) {
					code = ft.missing
				} else if ft.hasUnknown {
					code = ft.unknown
				} else {
					return nil, unknownErr(ft.where, c, i, sc)
				}
				if code >= 0 {
					block[code*n+i] = 1
				}
			}
			for k := 0; k < ft.width; k++ {
				out = append(out, column{num: block[k*n : (k+1)*n : (k+1)*n]})
			}
		}
		return out, nil
	}}, nil
}

type ordinalFeature struct {
	cats       *categories
	code       []float64
	hasMissing bool
	missing    float64
	hasUnknown bool
	unknown    float64
	where      string
}

func cOrdinal(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, "features"), info)
	if err != nil {
		return nil, err
	}
	if nIn != nOut {
		return nil, fail(where, "n_in must equal n_out")
	}
	list, err := array(d.get("features"), where+".features")
	if err != nil || len(list) != nIn {
		return nil, fail(where, "features must be an array of %d objects", nIn)
	}
	var feats []ordinalFeature
	for i, f := range list {
		fw := fmt.Sprintf("%s.features[%d]", where, i)
		if err := obj(f, fw, []string{"kind", "categories", "code", "on_unknown"}, []string{"missing", "unknown"}); err != nil {
			return nil, err
		}
		cats, err := readCategories(f, fw)
		if err != nil {
			return nil, err
		}
		code, err := numbers(f.get("code"), fw+".code", cats.n)
		if err != nil {
			return nil, err
		}
		ft := ordinalFeature{cats: cats, code: code, where: fw}
		if f.has("missing") {
			if ft.missing, err = number(f.get("missing"), fw+".missing"); err != nil {
				return nil, err
			}
			ft.hasMissing = true
		}
		onUnknown, err := enum(f.get("on_unknown"), fw+".on_unknown", "error", "encode")
		if err != nil {
			return nil, err
		}
		if onUnknown == "encode" {
			if !f.has("unknown") {
				return nil, fail(fw, "on_unknown 'encode' needs 'unknown'")
			}
			if ft.unknown, err = number(f.get("unknown"), fw+".unknown"); err != nil {
				return nil, err
			}
			ft.hasUnknown = true
		} else if f.has("unknown") {
			return nil, fail(fw, "'unknown' is only allowed with on_unknown 'encode'")
		}
		feats = append(feats, ft)
	}
	return &step{nIn: nIn, nOut: nOut, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		n := sc.n
		out := make([]column, len(feats))
		for j, ft := range feats {
			c := cols[j]
			y := make([]float64, n)
			for i := 0; i < n; i++ {
				if p := ft.cats.position(c, i); p >= 0 {
					y[i] = ft.code[p]
				} else if ft.hasMissing && c.isMissing(i) {
					y[i] = ft.missing
				} else if ft.hasUnknown {
					y[i] = ft.unknown
				} else {
					return nil, unknownErr(ft.where, c, i, sc)
				}
			}
			out[j] = column{num: y}
		}
		return out, nil
	}}, nil
}

func cPolynomial(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, "terms"), info)
	if err != nil {
		return nil, err
	}
	list, err := array(d.get("terms"), where+".terms")
	if err != nil || len(list) != nOut {
		return nil, fail(where, "terms must be an array of %d arrays", nOut)
	}
	terms := make([][]int, len(list))
	for i, t := range list {
		tw := fmt.Sprintf("%s.terms[%d]", where, i)
		idx, err := ints(t, tw, -1, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		for _, j := range idx {
			if j < 0 || j >= nIn {
				return nil, fail(tw, "column index out of range [0, %d)", nIn)
			}
		}
		terms[i] = idx
	}
	return &step{nIn: nIn, nOut: nOut, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		n := sc.n
		x := make([][]float64, len(cols))
		for j, c := range cols {
			v, err := c.asNumber(where, sc)
			if err != nil {
				return nil, err
			}
			x[j] = v
		}
		out := make([]column, len(terms))
		for k, t := range terms {
			y := make([]float64, n)
			if len(t) == 0 {
				for i := range y {
					y[i] = 1
				}
			} else {
				copy(y, x[t[0]])
				for _, j := range t[1:] {
					xj := x[j]
					for i := range y {
						y[i] *= xj[i]
					}
				}
			}
			out[k] = column{num: y}
		}
		return out, nil
	}}, nil
}

func cProject(d *jval, where string) (*step, error) {
	nIn, nOut, err := header(d, where, with(common, "components", "offset"), with(info, "divide"))
	if err != nil {
		return nil, err
	}
	comps, err := matrix(d.get("components"), where+".components", nOut, nIn)
	if err != nil {
		return nil, err
	}
	offset, err := numbers(d.get("offset"), where+".offset", nOut)
	if err != nil {
		return nil, err
	}
	var divide []float64
	if d.has("divide") {
		if divide, err = numbers(d.get("divide"), where+".divide", nOut); err != nil {
			return nil, err
		}
	}
	return &step{nIn: nIn, nOut: nOut, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		n := sc.n
		x := make([][]float64, len(cols))
		for j, c := range cols {
			v, err := c.asNumber(where, sc)
			if err != nil {
				return nil, err
			}
			x[j] = v
		}
		out := make([]column, nOut)
		for k := 0; k < nOut; k++ {
			y := make([]float64, n)
			row := comps[k]
			for j, xj := range x {
				cj := row[j]
				for i := range y {
					y[i] += float64(xj[i] * cj)
				}
			}
			for i := range y {
				y[i] -= offset[k]
			}
			if divide != nil {
				for i := range y {
					y[i] /= divide[k]
				}
			}
			out[k] = column{num: y}
		}
		return out, nil
	}}, nil
}
