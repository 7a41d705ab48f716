package scorer

// The expression node: a FunctionTransformer translated by mlexport into the
// mlexport.expr IR (format "mlexport.expr", version 1; its definition is the
// docstring of mlexport/expr.py). Programs are validated at load time exactly
// as mlexport.expr.check does (operators, dtypes, ranks, widths, numpy's
// restricted broadcasting) and evaluated column-wise on a batch.

import (
	"fmt"
	"math"
	"strings"
)

const (
	exprFormat  = "mlexport.expr"
	exprVersion = 1
)

type xkind uint8

const (
	xInput xkind = iota
	xCol
	xCols
	xConst
	xUnary
	xBinary
	xWhere
	xClip
	xConcat
)

// xnode is a validated expression node with its static type.
type xnode struct {
	kind    xkind
	op      string
	index   int
	indices []int
	cf      float64 // const
	cb      bool
	args    []*xnode
	lo, hi  float64
	hasLo   bool
	hasHi   bool
	// static type
	isBool bool
	rank   int // 0 scalar, 1 column, 2 matrix
	width  int // rank 2
	// element functions
	f1   func(float64) float64
	p1   func(float64) bool
	f2   func(a, b float64) float64
	c2   func(a, b float64) bool
	b2   func(a, b bool) bool
	eqOp bool // eq / ne on either dtype
	neOp bool
}

var unaryFloat = map[string]func(float64) float64{
	"neg": func(x float64) float64 { return -x }, "abs": math.Abs, "exp": expPortable, "log": logPortable,
	"log2": math.Log2, "log10": log10Portable, "log1p": math.Log1p, "expm1": math.Expm1, "sqrt": math.Sqrt,
	"square": func(x float64) float64 { return x * x }, "reciprocal": func(x float64) float64 { return 1 / x },
	"sin": math.Sin, "cos": math.Cos, "tan": math.Tan, "tanh": math.Tanh, "floor": math.Floor, "ceil": math.Ceil,
	"trunc": math.Trunc, "round": math.RoundToEven, "sign": npSign,
}

var unaryPred = map[string]func(float64) bool{
	"isnan":    func(x float64) bool { return x != x },
	"isinf":    func(x float64) bool { return math.IsInf(x, 0) },
	"isfinite": func(x float64) bool { return !math.IsInf(x, 0) && x == x },
}

var binaryFloat = map[string]func(a, b float64) float64{
	"add": func(a, b float64) float64 { return a + b }, "sub": func(a, b float64) float64 { return a - b },
	"mul": func(a, b float64) float64 { return a * b }, "div": func(a, b float64) float64 { return a / b },
	"pow": powPortable, "mod": npRemainder, "fmod": math.Mod, "min": npMinimum, "max": npMaximum,
	"fmin": npFmin, "fmax": npFmax,
}

var binaryCmp = map[string]func(a, b float64) bool{
	"lt": func(a, b float64) bool { return a < b }, "le": func(a, b float64) bool { return a <= b },
	"gt": func(a, b float64) bool { return a > b }, "ge": func(a, b float64) bool { return a >= b },
}

var binaryBool = map[string]func(a, b bool) bool{
	"and": func(a, b bool) bool { return a && b }, "or": func(a, b bool) bool { return a || b },
	"xor": func(a, b bool) bool { return a != b },
}

// npSign is np.sign: -1, 0 (also for -0), 1; NaN stays NaN.
func npSign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	case x == 0:
		return 0
	}
	return x
}

// npRemainder is np.remainder: fmod adjusted to the divisor's sign (Python's %).
func npRemainder(a, b float64) float64 {
	mod := math.Mod(a, b)
	if b == 0 {
		return mod
	}
	if mod != 0 {
		if (b < 0) != (mod < 0) {
			mod += b
		}
	} else {
		mod = math.Copysign(0, b)
	}
	return mod
}

// np.minimum / np.maximum: NaN if either is NaN.
func npMinimum(a, b float64) float64 {
	if a != a || a < b {
		return a
	}
	return b
}

func npMaximum(a, b float64) float64 {
	if a != a || a > b {
		return a
	}
	return b
}

// np.fmin / np.fmax: NaN only if both are NaN.
func npFmin(a, b float64) float64 {
	if a != a {
		return b
	}
	if b != b || a < b {
		return a
	}
	return b
}

func npFmax(a, b float64) float64 {
	if a != a {
		return b
	}
	if b != b || a > b {
		return a
	}
	return b
}

func dtypeName(isBool bool) string {
	if isBool {
		return "bool"
	}
	return "float64"
}

// compileProgram reads and validates a program for an n-column input.
func compileProgram(p *jval, where string, nIn, nOut int) (*xnode, int, error) {
	if err := obj(p, where, []string{"format", "version", "n_features_in", "n_features_out", "dtype", "output"},
		[]string{"function", "origin", "frozen"}); err != nil {
		return nil, 0, err
	}
	if f := p.get("format"); f.kind != jStr || f.str != exprFormat {
		return nil, 0, fail(where, "not an %s program (format %s)", exprFormat, f.describe())
	}
	if v := p.get("version"); v.kind != jNum || v.num != exprVersion {
		return nil, 0, fail(where, "%s version %s is not supported by this scorer (supported: %d); upgrade the scorer",
			exprFormat, v.describe(), exprVersion)
	}
	fin, err := integer(p.get("n_features_in"), where+".n_features_in", 1, MaxWidth)
	if err != nil {
		return nil, 0, err
	}
	fout, err := integer(p.get("n_features_out"), where+".n_features_out", 1, MaxWidth)
	if err != nil {
		return nil, 0, err
	}
	dtype, err := enum(p.get("dtype"), where+".dtype", "bool", "float64")
	if err != nil {
		return nil, 0, err
	}
	for _, k := range []string{"function", "origin"} {
		if v := p.get(k); v != nil && v.kind != jStr {
			return nil, 0, fail(where+"."+k, "must be a string")
		}
	}
	if v := p.get("frozen"); v != nil && v.kind != jObj && v.kind != jNull {
		return nil, 0, fail(where+".frozen", "must be an object")
	}
	widest := 0
	out, err := compileExpr(p.get("output"), where+".output", fin, &widest)
	if err != nil {
		return nil, 0, err
	}
	if out.rank != 2 {
		return nil, 0, fail(where, "malformed expression program: output must be rank 2. Got rank %d instead.", out.rank)
	}
	if out.width != fout {
		return nil, 0, fail(where, "n_features_out must be %d. Got %d instead.", out.width, fout)
	}
	if dtypeName(out.isBool) != dtype {
		return nil, 0, fail(where, "dtype must be %s. Got %s instead.", dtypeName(out.isBool), dtype)
	}
	if fin != nIn || fout != nOut {
		return nil, 0, fail(where, "program maps %d -> %d columns, the step says %d -> %d", fin, fout, nIn, nOut)
	}
	return out, widest, nil
}

func exprFail(where, format string, args ...interface{}) error {
	return fail(where, "malformed expression: "+format, args...)
}

func compileExpr(d *jval, where string, F int, widest *int) (*xnode, error) {
	if d == nil || d.kind != jObj || d.get("op") == nil || d.get("op").kind != jStr {
		return nil, fail(where, "an expression node must be an object with an 'op'")
	}
	op := d.get("op").str
	where = fmt.Sprintf("%s(%s)", where, op)
	n := &xnode{op: op}
	var allowed []string
	switch {
	case op == "input":
		n.kind, allowed = xInput, []string{"op"}
	case op == "col":
		n.kind, allowed = xCol, []string{"op", "index"}
	case op == "cols":
		n.kind, allowed = xCols, []string{"op", "indices"}
	case op == "const":
		n.kind, allowed = xConst, []string{"op", "value"}
	case op == "clip":
		n.kind, allowed = xClip, []string{"op", "args", "lo", "hi"}
	case op == "where":
		n.kind, allowed = xWhere, []string{"op", "args"}
	case op == "concat":
		n.kind, allowed = xConcat, []string{"op", "args"}
	case op == "to_float" || op == "not" || unaryFloat[op] != nil || unaryPred[op] != nil:
		n.kind, allowed = xUnary, []string{"op", "args"}
	case binaryFloat[op] != nil || binaryCmp[op] != nil || binaryBool[op] != nil || op == "eq" || op == "ne":
		n.kind, allowed = xBinary, []string{"op", "args"}
	default:
		return nil, fail(where, "unknown expression operator '%s' (this scorer knows %s version %d)", op,
			exprFormat, exprVersion)
	}
	if err := obj(d, where, []string{"op"}, allowed[1:]); err != nil {
		return nil, err
	}
	var args []*jval
	if a := d.get("args"); a != nil {
		var err error
		if args, err = array(a, where+".args"); err != nil {
			return nil, err
		}
	}
	arity := map[xkind]int{xInput: 0, xCol: 0, xCols: 0, xConst: 0, xUnary: 1, xClip: 1, xBinary: 2, xWhere: 3}
	if want, ok := arity[n.kind]; ok && len(args) != want {
		return nil, fail(where, "operator '%s' takes %d argument(s). Got %d instead.", op, want, len(args))
	}
	if n.kind == xConcat && len(args) == 0 {
		return nil, exprFail(where, "concat of nothing")
	}
	for i, a := range args {
		c, err := compileExpr(a, fmt.Sprintf("%s.args[%d]", where, i), F, widest)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, c)
	}
	need := func(isBool bool, what string, xs ...*xnode) error {
		for _, x := range xs {
			if x.isBool != isBool {
				return exprFail(where, "%s needs %s operands, got %s", what, dtypeName(isBool), dtypeName(x.isBool))
			}
		}
		return nil
	}
	var err error
	switch n.kind {
	case xInput:
		n.rank, n.width = 2, F
	case xCol:
		if n.index, err = integer(d.get("index"), where+".index", 0, MaxWidth); err != nil {
			return nil, err
		}
		if n.index >= F {
			return nil, exprFail(where, "column %d is out of range for %d features", n.index, F)
		}
		n.rank = 1
	case xCols:
		if n.indices, err = ints(d.get("indices"), where+".indices", -1, 0, MaxWidth); err != nil {
			return nil, err
		}
		if len(n.indices) == 0 {
			return nil, fail(where, "'indices' must be a non-empty list")
		}
		for _, i := range n.indices {
			if i >= F {
				return nil, exprFail(where, "columns %v are out of range for %d features", n.indices, F)
			}
		}
		n.rank, n.width = 2, len(n.indices)
	case xConst:
		v := d.get("value")
		if v != nil && v.kind == jBool {
			n.isBool, n.cb = true, v.b
		} else if n.cf, err = number(v, where+".value"); err != nil {
			return nil, err
		}
	case xUnary:
		x := n.args[0]
		switch {
		case unaryFloat[op] != nil:
			err, n.f1 = need(false, op, x), unaryFloat[op]
		case unaryPred[op] != nil:
			err, n.p1, n.isBool = need(false, op, x), unaryPred[op], true
		case op == "not":
			err, n.isBool = need(true, op, x), true
		default: // to_float
			err = need(true, op, x)
		}
		n.rank, n.width = x.rank, x.width
	case xBinary:
		a, b := n.args[0], n.args[1]
		switch {
		case binaryFloat[op] != nil:
			err, n.f2 = need(false, op, a, b), binaryFloat[op]
		case binaryCmp[op] != nil:
			err, n.c2, n.isBool = need(false, op, a, b), binaryCmp[op], true
		case binaryBool[op] != nil:
			err, n.b2, n.isBool = need(true, op, a, b), binaryBool[op], true
		default: // eq, ne
			if a.isBool != b.isBool {
				err = exprFail(where, "%s compares %s with %s", op, dtypeName(a.isBool), dtypeName(b.isBool))
			}
			n.isBool, n.eqOp, n.neOp = true, op == "eq", op == "ne"
		}
		if err == nil {
			n.rank, n.width, err = broadcast(where, a, b)
		}
	case xWhere:
		c, a, b := n.args[0], n.args[1], n.args[2]
		if err = need(true, "where condition", c); err == nil && a.isBool != b.isBool {
			err = exprFail(where, "where mixes %s and %s", dtypeName(a.isBool), dtypeName(b.isBool))
		}
		n.isBool = a.isBool
		if err == nil {
			n.rank, n.width, err = broadcast(where, c, a, b)
		}
	case xClip:
		x := n.args[0]
		err = need(false, "clip", x)
		for _, bound := range []struct {
			key string
			val *float64
			has *bool
		}{{"lo", &n.lo, &n.hasLo}, {"hi", &n.hi, &n.hasHi}} {
			v := d.get(bound.key)
			if v == nil || v.kind == jNull {
				continue
			}
			f, e := number(v, where+"."+bound.key)
			if e != nil {
				return nil, e
			}
			if f != f {
				return nil, exprFail(where, "clip bound nan is not a number")
			}
			*bound.val, *bound.has = f, true
		}
		n.rank, n.width = x.rank, x.width
	case xConcat:
		n.isBool, n.rank = n.args[0].isBool, 2
		for _, p := range n.args {
			if p.isBool != n.isBool {
				return nil, exprFail(where, "concat parts have different dtypes")
			}
			if p.rank == 0 {
				return nil, exprFail(where, "concat of a scalar")
			}
			if p.rank == 1 {
				n.width++
			} else {
				n.width += p.width
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if n.width > MaxWidth {
		return nil, exprFail(where, "more than %d columns", MaxWidth)
	}
	if n.width > *widest {
		*widest = n.width
	}
	return n, nil
}

// broadcast is mlexport.expr's restricted numpy broadcasting (never depends on the row count).
func broadcast(where string, xs ...*xnode) (int, int, error) {
	has1, has2 := false, false
	widths := map[int]bool{}
	for _, x := range xs {
		switch x.rank {
		case 1:
			has1 = true
		case 2:
			has2 = true
			widths[x.width] = true
		}
	}
	switch {
	case has1 && has2:
		return 0, 0, exprFail(where, "a rank-1 column meets a rank-2 matrix (numpy would broadcast it across rows)")
	case has1:
		return 1, 0, nil
	case !has2:
		return 0, 0, nil
	}
	if len(widths) == 1 {
		for w := range widths {
			return 2, w, nil
		}
	}
	delete(widths, 1)
	if len(widths) > 1 {
		var ws []string
		for w := range widths {
			ws = append(ws, fmt.Sprint(w))
		}
		return 0, 0, exprFail(where, "matrices of [%s] columns do not broadcast", strings.Join(ws, ", "))
	}
	for w := range widths {
		return 2, w, nil
	}
	return 2, 1, nil
}

// xval is an evaluated node: a scalar (rank 0) or columns (1 for rank 1).
type xval struct {
	rank int
	f    [][]float64
	b    [][]bool
	sf   float64
	sb   bool
}

func (v *xval) fcol(j int) ([]float64, float64) {
	if v.rank == 0 {
		return nil, v.sf
	}
	if len(v.f) == 1 {
		return v.f[0], 0
	}
	return v.f[j], 0
}

func (v *xval) bcol(j int) ([]bool, bool) {
	if v.rank == 0 {
		return nil, v.sb
	}
	if len(v.b) == 1 {
		return v.b[0], false
	}
	return v.b[j], false
}

func at(col []float64, s float64, i int) float64 {
	if col == nil {
		return s
	}
	return col[i]
}

func atb(col []bool, s bool, i int) bool {
	if col == nil {
		return s
	}
	return col[i]
}

func (n *xnode) ncols() int {
	if n.rank == 2 {
		return n.width
	}
	return 1
}

// eval evaluates n on the input columns X (n rows each).
func (n *xnode) eval(X [][]float64, rows int) *xval {
	out := &xval{rank: n.rank}
	switch n.kind {
	case xInput:
		out.f = X
		return out
	case xCol:
		out.f = [][]float64{X[n.index]}
		return out
	case xCols:
		for _, i := range n.indices {
			out.f = append(out.f, X[i])
		}
		return out
	case xConst:
		out.sf, out.sb = n.cf, n.cb
		return out
	}
	args := make([]*xval, len(n.args))
	for i, a := range n.args {
		args[i] = a.eval(X, rows)
	}
	if n.kind == xConcat {
		for _, a := range args {
			out.f = append(out.f, a.f...)
			out.b = append(out.b, a.b...)
		}
		return out
	}
	if n.rank == 0 { // all operands scalars: compute once
		n.scalar(args, out)
		return out
	}
	k := n.ncols()
	for j := 0; j < k; j++ {
		if n.isBool {
			out.b = append(out.b, n.boolColumn(args, j, rows))
		} else {
			out.f = append(out.f, n.floatColumn(args, j, rows))
		}
	}
	return out
}

func (n *xnode) floatColumn(args []*xval, j, rows int) []float64 {
	y := make([]float64, rows)
	switch n.kind {
	case xUnary:
		if n.op == "to_float" {
			c, s := args[0].bcol(j)
			for i := range y {
				if atb(c, s, i) {
					y[i] = 1
				}
			}
			return y
		}
		c, s := args[0].fcol(j)
		for i := range y {
			y[i] = n.f1(at(c, s, i))
		}
	case xBinary:
		a, sa := args[0].fcol(j)
		b, sb := args[1].fcol(j)
		f2 := n.f2
		if n.op == "pow" && args[1].rank == 0 && sb == 0.5 {
			// numpy's power has a fast path for a scalar exponent of 0.5: sqrt
			// (so (-inf) ** 0.5 is NaN and (-0) ** 0.5 is -0, unlike C pow)
			f2 = func(x, _ float64) float64 { return math.Sqrt(x) }
		}
		for i := range y {
			y[i] = f2(at(a, sa, i), at(b, sb, i))
		}
	case xWhere:
		c, sc := args[0].bcol(j)
		a, sa := args[1].fcol(j)
		b, sb := args[2].fcol(j)
		for i := range y {
			if atb(c, sc, i) {
				y[i] = at(a, sa, i)
			} else {
				y[i] = at(b, sb, i)
			}
		}
	case xClip:
		c, s := args[0].fcol(j)
		for i := range y {
			y[i] = n.clip(at(c, s, i))
		}
	}
	return y
}

func (n *xnode) clip(v float64) float64 {
	if n.hasLo && v < n.lo {
		v = n.lo
	}
	if n.hasHi && v > n.hi {
		v = n.hi
	}
	return v
}

func (n *xnode) boolColumn(args []*xval, j, rows int) []bool {
	y := make([]bool, rows)
	switch n.kind {
	case xUnary:
		if n.op == "not" {
			c, s := args[0].bcol(j)
			for i := range y {
				y[i] = !atb(c, s, i)
			}
			return y
		}
		c, s := args[0].fcol(j)
		for i := range y {
			y[i] = n.p1(at(c, s, i))
		}
	case xBinary:
		switch {
		case n.c2 != nil:
			a, sa := args[0].fcol(j)
			b, sb := args[1].fcol(j)
			for i := range y {
				y[i] = n.c2(at(a, sa, i), at(b, sb, i))
			}
		case n.b2 != nil:
			a, sa := args[0].bcol(j)
			b, sb := args[1].bcol(j)
			for i := range y {
				y[i] = n.b2(atb(a, sa, i), atb(b, sb, i))
			}
		case n.args[0].isBool: // eq / ne on booleans
			a, sa := args[0].bcol(j)
			b, sb := args[1].bcol(j)
			for i := range y {
				y[i] = (atb(a, sa, i) == atb(b, sb, i)) == n.eqOp
			}
		default: // eq / ne on numbers: NaN is never equal
			a, sa := args[0].fcol(j)
			b, sb := args[1].fcol(j)
			for i := range y {
				y[i] = (at(a, sa, i) == at(b, sb, i)) == n.eqOp
			}
		}
	case xWhere:
		c, sc := args[0].bcol(j)
		a, sa := args[1].bcol(j)
		b, sb := args[2].bcol(j)
		for i := range y {
			if atb(c, sc, i) {
				y[i] = atb(a, sa, i)
			} else {
				y[i] = atb(b, sb, i)
			}
		}
	}
	return y
}

// scalar computes a node whose operands are all scalars (numpy computes
// those once, on 0-d arrays).
func (n *xnode) scalar(args []*xval, out *xval) {
	if n.isBool {
		out.sb = n.boolColumn(args, 0, 1)[0]
	} else {
		out.sf = n.floatColumn(args, 0, 1)[0]
	}
}

func cExpression(d *jval, where string) (*step, error) {
	if err := obj(d, where, with(common, "program"), info); err != nil {
		return nil, err
	}
	nIn, nOut, err := widths(d, where)
	if err != nil {
		return nil, err
	}
	prog, widest, err := compileProgram(d.get("program"), where+".program", nIn, nOut)
	if err != nil {
		return nil, err
	}
	return &step{nIn: nIn, nOut: nOut, widest: widest, where: where, apply: func(cols []column, sc *scoreCtx) ([]column, error) {
		X := make([][]float64, len(cols))
		for j, c := range cols {
			x, err := c.asNumber(where, sc)
			if err != nil {
				return nil, err
			}
			X[j] = x
		}
		v := prog.eval(X, sc.n)
		out := make([]column, nOut)
		for j := range out {
			if prog.isBool {
				bc, _ := v.bcol(j)
				y := make([]float64, sc.n)
				for i, b := range bc {
					if b {
						y[i] = 1
					}
				}
				out[j] = column{num: y}
			} else {
				fc, _ := v.fcol(j)
				out[j] = column{num: fc}
			}
		}
		return out, nil
	}}, nil
}
