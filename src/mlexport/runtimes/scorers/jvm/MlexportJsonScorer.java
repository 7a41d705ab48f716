/*
 * MlexportJsonScorer: scores mlexport JSON documents ("mlexport-json", format_version 1) on the JVM.
 *
 * One source file, one dependency (Gson, for its strict streaming JsonReader). Copy this file into your
 * service (package dev.mlexport) and add Gson 2.8+ to the classpath; nothing else is needed.
 *
 * The reference is mlexport's Python scorer (mlexport/jsonfmt/score.py): this class validates a document
 * the same way (version, node types, every field, array shapes, tree structure) when it is loaded and then
 * computes the same numbers in the same operation order.
 *
 * Library use (load once, share across threads; scoring allocates only small per-call buffers):
 *
 *   MlexportJsonScorer scorer = MlexportJsonScorer.load(Path.of("model.json"));
 *   Map<String, Object> row = new HashMap<>();
 *   row.put("age", 42.0);          // number column: a Number, or null for missing
 *   row.put("city", "Paris");      // string column: a String, or null for missing
 *   MlexportJsonScorer.Prediction p = scorer.predict(row);
 *   p.label; p.proba; p.decision; p.value;
 *
 * Command line (one JVM for the whole file):
 *
 *   java -cp gson.jar:classes dev.mlexport.MlexportJsonScorer MODEL.json INPUT.csv OUTPUT.csv
 *   java -cp gson.jar:classes dev.mlexport.MlexportJsonScorer --check MODEL.json
 *
 * INPUT.csv has a header; columns are matched by name (extra columns are ignored); an empty unquoted
 * field is a missing value (a quoted "" is the empty string); RFC 4180 quoting. OUTPUT.csv has the
 * columns of mlexport's Outputs.to_frame(): label, proba_<class>... (classifiers with probabilities),
 * decision or decision_<class>... (classifiers without probabilities: the raw scores),
 * value or value_<j> (regressors). "-" reads stdin / writes stdout. Any problem with the document or the
 * data: one line on stderr, exit code 2.
 */
package dev.mlexport;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;

public final class MlexportJsonScorer {

    public static final String FORMAT_NAME = "mlexport-json";
    /** The format versions this scorer implements; any other version is refused. */
    public static final List<Integer> SUPPORTED_VERSIONS = Collections.singletonList(1);

    static final int MAX_DEPTH = 400;              // JSON nesting levels
    static final long MAX_WIDTH = 1L << 22;        // columns of any one step
    static final long MAX_WORKSPACE = 1L << 24;    // cells of all intermediate step buffers
    static final int BLOCK = 128;                  // rows scored together (trees are walked block-wise)

    // ================================================================== public types

    /** The document is not a valid mlexport JSON document this scorer understands. */
    public static final class ModelException extends Exception {
        private static final long serialVersionUID = 1L;

        public ModelException(String message) {
            super(oneLine(message));
        }
    }

    /** A row cannot be scored (missing column, string in a numeric column, unknown category...). */
    public static final class InputException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        final long row;

        public InputException(String message) {
            this(message, -1);
        }

        InputException(String message, long row) {
            super(oneLine(message));
            this.row = row;
        }
    }

    public enum Kind { NUMBER, STRING }

    /** One input column of the document. {@code used == false}: never read, may be absent. */
    public static final class Input {
        public final String name;
        public final Kind kind;
        public final boolean used;

        Input(String name, Kind kind, boolean used) {
            this.name = name;
            this.kind = kind;
            this.used = used;
        }

        @Override
        public String toString() {
            return name + ":" + kind.name().toLowerCase() + (used ? "" : " (unused)");
        }
    }

    /** The prediction for one row. */
    public static final class Prediction {
        /** Class value (String, Long, Double or Boolean) for classifiers, else null. */
        public final Object label;
        /** Index of the label in {@link #classes()}, -1 for regressors. */
        public final int labelIndex;
        /** Class probabilities in {@link #classes()} order, or null. */
        public final double[] proba;
        /** Decision values of a classifier without probabilities (1 for two classes, else one per class), or null. */
        public final double[] decision;
        /** Regression outputs (length 1 unless multi-output), or null for classifiers. */
        public final double[] value;

        Prediction(Object label, int labelIndex, double[] proba, double[] decision, double[] value) {
            this.label = label;
            this.labelIndex = labelIndex;
            this.proba = proba;
            this.decision = decision;
            this.value = value;
        }

        @Override
        public String toString() {
            return "Prediction(label=" + label + ", proba=" + Arrays.toString(proba) + ", decision=" + Arrays.toString(decision)
                + ", value=" + Arrays.toString(value) + ")";
        }
    }

    /** Predictions for a batch of rows, stored row-major. */
    public static final class Outputs {
        public final int rows;
        /** Label index per row (classifiers), else null. */
        public final int[] labelIndex;
        /** rows x classes probabilities (row-major), or null. */
        public final double[] proba;
        /** rows x decisionWidth decision values (row-major; classifiers without probabilities), or null. */
        public final double[] decision;
        /** rows x valueWidth values (row-major), or null. */
        public final double[] value;
        private final MlexportJsonScorer owner;

        Outputs(MlexportJsonScorer owner, int rows) {
            this.owner = owner;
            this.rows = rows;
            Output o = owner.output;
            labelIndex = o.classifier ? new int[rows] : null;
            proba = o.proba != P_NONE ? new double[Math.multiplyExact(rows, o.k)] : null;
            decision = o.classifier && o.proba == P_NONE ? new double[Math.multiplyExact(rows, o.m)] : null;
            value = o.classifier ? null : new double[Math.multiplyExact(rows, o.m)];
        }

        public Object label(int row) {
            return owner.output.labels[labelIndex[row]];
        }

        public Prediction get(int row) {
            Output o = owner.output;
            double[] p = proba == null ? null : Arrays.copyOfRange(proba, row * o.k, (row + 1) * o.k);
            double[] d = decision == null ? null : Arrays.copyOfRange(decision, row * o.m, (row + 1) * o.m);
            if (o.classifier) {
                return new Prediction(o.labels[labelIndex[row]], labelIndex[row], p, d, null);
            }
            return new Prediction(null, -1, null, null, Arrays.copyOfRange(value, row * o.m, (row + 1) * o.m));
        }
    }

    // ================================================================== the scorer

    private final int formatVersion;
    private final String task;
    private final Input[] inputs;
    private final Map<String, Integer> inputIndex = new HashMap<>();
    private final Step steps;          // all transform steps, as one pipeline
    private final int[] slotWidths;    // intermediate buffers the steps use
    private final Model model;
    private final Output output;

    private MlexportJsonScorer(Object doc) throws ModelException {
        Map<String, Object> d = obj(doc, "<document>", new String[] {"format", "format_version", "task", "inputs",
            "steps", "model", "output"}, new String[] {"producer"});
        Object fmt = d.get("format");
        if (!FORMAT_NAME.equals(fmt)) {
            throw fail("format", "must be '" + FORMAT_NAME + "'. Got " + repr(fmt) + " instead.");
        }
        Object version = d.get("format_version");
        int v = -1;
        if (version instanceof JNum) {
            double x = ((JNum) version).v;
            for (int s : SUPPORTED_VERSIONS) {
                if (x == s) {
                    v = s;
                }
            }
        }
        if (v < 0) {
            throw fail("format_version", "version " + repr(version) + " is not supported by this scorer (supported: "
                + SUPPORTED_VERSIONS.toString().replaceAll("[\\[\\]]", "") + "); upgrade mlexport's Java scorer");
        }
        formatVersion = v;
        task = enumv(d.get("task"), "task", "classification", "regression");
        Object ins = d.get("inputs");
        if (!(ins instanceof JArr) || ((JArr) ins).size() == 0) {
            throw fail("inputs", "must be a non-empty array");
        }
        JArr in = (JArr) ins;
        if (in.size() > MAX_WIDTH) {
            throw fail("inputs", "more than " + MAX_WIDTH + " columns");
        }
        inputs = new Input[in.size()];
        for (int i = 0; i < in.size(); i++) {
            String w = "inputs[" + i + "]";
            Map<String, Object> c = obj(in.get(i), w, new String[] {"name", "kind", "used"}, NONE);
            if (!(c.get("name") instanceof String)) {
                throw fail(w + ".name", "must be a string");
            }
            if (!(c.get("used") instanceof Boolean)) {
                throw fail(w + ".used", "must be true or false");
            }
            String kind = enumv(c.get("kind"), w + ".kind", "number", "string");
            String name = (String) c.get("name");
            inputs[i] = new Input(name, kind.equals("number") ? Kind.NUMBER : Kind.STRING, (Boolean) c.get("used"));
            if (inputIndex.put(name, i) != null) {
                throw fail("inputs", "column names must be unique");
            }
        }
        Object st = d.get("steps");
        if (!(st instanceof JArr)) {
            throw fail("steps", "must be an array");
        }
        Compiler comp = new Compiler();
        int inSlot = comp.slot(inputs.length);
        JArr sa = (JArr) st;
        List<Step> list = new ArrayList<>();
        int cur = inputs.length;
        for (int i = 0; i < sa.size(); i++) {
            Step s = comp.transform(sa.get(i), "steps[" + i + "]", 1);
            if (s.nIn != cur) {
                throw fail(s.where, "takes " + s.nIn + " columns but receives " + cur);
            }
            cur = s.nOut;
            list.add(s);
        }
        steps = comp.chain(list, inputs.length, cur, "steps", inSlot);
        model = compileModel(d.get("model"), "model");
        if (model.n != cur) {
            throw fail("model", "takes " + model.n + " features but the steps give " + cur);
        }
        output = compileOutput(d.get("output"), "output", model.m, task);
        slotWidths = comp.widths();
    }

    /** Reads and validates a document. The reader is not closed. */
    public static MlexportJsonScorer load(Reader reader) throws ModelException {
        Object doc;
        try {
            JsonReader r = new JsonReader(reader);
            r.setLenient(false); // bare NaN / Infinity, comments, single quotes... are refused
            JsonToken first = r.peek();
            if (first != JsonToken.BEGIN_OBJECT) {
                String got = first == JsonToken.BEGIN_ARRAY ? "list" : first == JsonToken.STRING ? "str"
                    : first == JsonToken.NUMBER ? "number" : first == JsonToken.BOOLEAN ? "bool" : "NoneType";
                throw new ModelException("JSON document: <document>: must be an object. Got " + got + " instead.");
            }
            doc = readJson(r, 0);
            boolean end;
            try {
                end = r.peek() == JsonToken.END_DOCUMENT;
            } catch (IOException e) {
                end = false;
            }
            if (!end) {
                throw new ModelException("not valid JSON: data after the end of the document");
            }
        } catch (ModelException e) {
            throw e;
        } catch (CharacterCodingException e) {
            throw new ModelException("not valid JSON: the document is not UTF-8 text");
        } catch (IOException e) {
            throw new ModelException("not valid JSON: " + gsonMessage(e));
        } catch (NumberFormatException | IllegalStateException e) {
            throw new ModelException("not valid JSON: " + gsonMessage(e));
        } catch (StackOverflowError e) {
            throw new ModelException("JSON document: nested too deeply");
        }
        try {
            return new MlexportJsonScorer(doc);
        } catch (ModelException e) {
            throw e;
        } catch (ArithmeticException | NegativeArraySizeException e) {
            throw new ModelException("JSON document: sizes out of range (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            // every check is explicit; this is a last line of defence against a hostile document
            throw new ModelException("JSON document: invalid (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
    }

    public static MlexportJsonScorer load(Path path) throws ModelException, IOException {
        try (InputStream s = Files.newInputStream(path)) {
            return load(utf8Reader(s));
        }
    }

    public int formatVersion() {
        return formatVersion;
    }

    /** "classification" or "regression". */
    public String task() {
        return task;
    }

    public boolean isClassifier() {
        return output.classifier;
    }

    public List<Input> inputs() {
        return Collections.unmodifiableList(Arrays.asList(inputs));
    }

    /** Class values (String, Long, Double or Boolean) in probability-column order; null for regressors. */
    public List<Object> classes() {
        return output.classifier ? Collections.unmodifiableList(Arrays.asList(output.classes)) : null;
    }

    public boolean hasProbabilities() {
        return output.proba != P_NONE;
    }

    /** Number of regression outputs per row (0 for classifiers). */
    public int valueWidth() {
        return output.classifier ? 0 : output.m;
    }

    /** The CSV columns {@link #main} writes: label, proba_&lt;class&gt;..., value / value_&lt;j&gt;. */
    public List<String> outputColumns() {
        List<String> cols = new ArrayList<>();
        Output o = output;
        if (o.classifier) {
            cols.add("label");
            if (o.proba != P_NONE) {
                for (String c : o.classText) {
                    cols.add("proba_" + c);
                }
            } else if (o.m == 1) {
                cols.add("decision");
            } else {
                for (String c : o.classText) {
                    cols.add("decision_" + c);
                }
            }
        } else if (o.squeeze) {
            cols.add("value");
        } else {
            for (int j = 0; j < o.m; j++) {
                cols.add("value_" + j);
            }
        }
        return cols;
    }

    /**
     * Scores one row given by column name. Number columns take a Number (NaN or null = missing), string
     * columns a String (null = missing). Every used input must be a key of the map.
     */
    public Prediction predict(Map<String, ?> row) {
        Object[] cells = new Object[inputs.length];
        List<String> absent = null;
        for (int i = 0; i < inputs.length; i++) {
            if (!inputs[i].used) {
                continue;
            }
            if (!row.containsKey(inputs[i].name)) {
                if (absent == null) {
                    absent = new ArrayList<>();
                }
                absent.add(inputs[i].name);
            }
            cells[i] = row.get(inputs[i].name);
        }
        if (absent != null) {
            throw new InputException("input is missing column(s) " + String.join(", ", absent) + ".");
        }
        return predictRow(cells);
    }

    /** Scores one row given in {@link #inputs()} order. */
    public Prediction predictRow(Object... cells) {
        Outputs out = predictBatch(new Object[][] {cells}, 1);
        return out.get(0);
    }

    /** The numeric feature vector the model node receives for one row (after all steps), as the reference's features(). */
    public double[] features(Object... cells) {
        Workspace ws = new Workspace();
        Cells input = ws.slots[((Pipeline) steps).inSlot];
        Cells fin = ws.slots[((Pipeline) steps).outSlot];
        new ObjectRows(new Object[][] {cells}).fill(0, input);
        return featureRow(input, fin, ws, 0);
    }

    private double[] featureRow(Cells input, Cells fin, Workspace ws, long row) {
        steps.apply(input, fin, ws, row);
        double[] x = new double[model.n];
        for (int j = 0; j < x.length; j++) {
            if (fin.str[j] != null) {
                throw stringReachedNumeric("model input", fin.str[j], row);
            }
            x[j] = fin.num[j];
        }
        return x;
    }

    /** Scores rows given in {@link #inputs()} order, on up to {@code threads} threads. */
    public Outputs predictBatch(Object[][] rows, int threads) {
        Outputs out = new Outputs(this, rows.length);
        score(new ObjectRows(rows), out, threads);
        return out;
    }

    // ================================================================== JSON tree, read with Gson's strict reader

    static final Object JNULL = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };
    static final String[] NONE = new String[0];

    /** A JSON number: its value, and whether it was written as an integer that fits a long. */
    static final class JNum {
        final double v;
        final boolean isInt;
        final long l;

        JNum(double v, boolean isInt, long l) {
            this.v = v;
            this.isInt = isInt;
            this.l = l;
        }

        static JNum parse(String text) throws ModelException {
            boolean intLiteral = text.indexOf('.') < 0 && text.indexOf('e') < 0 && text.indexOf('E') < 0;
            double v;
            try {
                v = Double.parseDouble(text);
            } catch (NumberFormatException e) {
                throw new ModelException("not valid JSON: bad number " + clip(text, 40));
            }
            if (intLiteral) {
                try {
                    long l = Long.parseLong(text);
                    return new JNum((double) l, true, l); // "-0" is the integer 0, as in Python
                } catch (NumberFormatException e) {
                    if (Double.isInfinite(v)) {
                        throw new ModelException("JSON document: integer " + clip(text, 40) + " is out of range");
                    }
                    return new JNum(v, false, 0);
                }
            }
            return new JNum(v, false, 0);
        }

        @Override
        public String toString() {
            return isInt ? Long.toString(l) : pyRepr(v);
        }
    }

    /** A JSON array. All-number arrays are stored as primitive arrays. */
    static final class JArr {
        final Object[] items;  // null when every element is a number
        final double[] d;      // every element is a number
        final long[] l;
        final boolean[] isInt;

        private JArr(Object[] items, double[] d, long[] l, boolean[] isInt) {
            this.items = items;
            this.d = d;
            this.l = l;
            this.isInt = isInt;
        }

        static JArr of(List<Object> xs) {
            for (Object x : xs) {
                if (!(x instanceof JNum)) {
                    return new JArr(xs.toArray(), null, null, null);
                }
            }
            int n = xs.size();
            double[] d = new double[n];
            long[] l = new long[n];
            boolean[] isInt = new boolean[n];
            for (int i = 0; i < n; i++) {
                JNum j = (JNum) xs.get(i);
                d[i] = j.v;
                l[i] = j.l;
                isInt[i] = j.isInt;
            }
            return new JArr(null, d, l, isInt);
        }

        int size() {
            return items != null ? items.length : d.length;
        }

        Object get(int i) {
            return items != null ? items[i] : new JNum(d[i], isInt[i], l[i]);
        }
    }

    static Object readJson(JsonReader r, int depth) throws IOException, ModelException {
        if (depth > MAX_DEPTH) {
            throw new ModelException("JSON document: nested more than " + MAX_DEPTH + " levels deep");
        }
        JsonToken t = r.peek();
        switch (t) {
            case BEGIN_OBJECT: {
                r.beginObject();
                LinkedHashMap<String, Object> m = new LinkedHashMap<>();
                while (r.hasNext()) {
                    String k = r.nextName();
                    if (m.containsKey(k)) {
                        throw new ModelException("JSON document: duplicate key '" + clip(k, 60) + "' at " + r.getPath());
                    }
                    m.put(k, readJson(r, depth + 1));
                }
                r.endObject();
                return m;
            }
            case BEGIN_ARRAY: {
                r.beginArray();
                ArrayList<Object> a = new ArrayList<>();
                while (r.hasNext()) {
                    a.add(readJson(r, depth + 1));
                }
                r.endArray();
                return JArr.of(a);
            }
            case STRING:
                return r.nextString();
            case NUMBER:
                return JNum.parse(r.nextString());
            case BOOLEAN:
                return r.nextBoolean();
            case NULL:
                r.nextNull();
                return JNULL;
            default:
                throw new ModelException("not valid JSON: unexpected " + t + " at " + r.getPath());
        }
    }

    static String gsonMessage(Exception e) {
        String m = String.valueOf(e.getMessage());
        m = m.replace("Use JsonReader.setLenient(true) to accept malformed JSON", "malformed JSON");
        int see = m.indexOf("\nSee ");
        if (see >= 0) {
            m = m.substring(0, see);
        }
        if (e instanceof java.io.EOFException) {
            m = "the document is truncated (" + m + ")";
        }
        return m;
    }

    // ================================================================== field readers (score.py's helpers)

    static ModelException fail(String where, String msg) {
        return new ModelException("JSON document: " + where + ": " + msg);
    }

    static String typeName(Object x) {
        if (x instanceof Map) {
            return "dict";
        }
        if (x instanceof JArr) {
            return "list";
        }
        if (x instanceof String) {
            return "str";
        }
        if (x instanceof Boolean) {
            return "bool";
        }
        if (x instanceof JNum) {
            return ((JNum) x).isInt ? "int" : "float";
        }
        return "NoneType";
    }

    static String repr(Object x) {
        if (x == null || x == JNULL) {
            return "None";
        }
        if (x instanceof String) {
            return "'" + clip((String) x, 80).replace("\\", "\\\\").replace("'", "\\'") + "'";
        }
        if (x instanceof Boolean) {
            return (Boolean) x ? "True" : "False";
        }
        if (x instanceof Map) {
            return "{...}";
        }
        if (x instanceof JArr) {
            return "[...]";
        }
        return String.valueOf(x);
    }

    static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n) + "...";
    }

    static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        s = s.replace("\r", " ").replace("\n", " ");
        return s.length() > 1000 ? s.substring(0, 1000) + "..." : s;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Object d, String where, String[] required, String[] optional) throws ModelException {
        if (!(d instanceof Map)) {
            throw fail(where, "must be an object. Got " + typeName(d) + " instead.");
        }
        Map<String, Object> m = (Map<String, Object>) d;
        List<String> missing = new ArrayList<>();
        for (String k : required) {
            if (!m.containsKey(k)) {
                missing.add(k);
            }
        }
        if (!missing.isEmpty()) {
            throw fail(where, "missing field(s) " + String.join(", ", missing));
        }
        TreeSet<String> unknown = new TreeSet<>(m.keySet());
        unknown.removeAll(Arrays.asList(required));
        unknown.removeAll(Arrays.asList(optional));
        if (!unknown.isEmpty()) {
            List<String> shown = new ArrayList<>();
            for (String u : unknown) {
                shown.add(clip(u, 40));
                if (shown.size() == 5) {
                    break;
                }
            }
            throw fail(where, "unknown field(s) " + String.join(", ", shown) + (unknown.size() > 5 ? ", ..." : "")
                + ": written by a newer format version?");
        }
        return m;
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static double nonFinite(Object x) {
        if ("NaN".equals(x)) {
            return Double.NaN;
        }
        if ("Infinity".equals(x)) {
            return Double.POSITIVE_INFINITY;
        }
        if ("-Infinity".equals(x)) {
            return Double.NEGATIVE_INFINITY;
        }
        return 0.0; // not reached: callers check
    }

    static boolean isNonFinite(Object x) {
        return "NaN".equals(x) || "Infinity".equals(x) || "-Infinity".equals(x);
    }

    static double number(Object x, String where) throws ModelException {
        if (x instanceof JNum) {
            return ((JNum) x).v;
        }
        if (isNonFinite(x)) {
            return nonFinite(x);
        }
        if (x instanceof Boolean) {
            throw fail(where, "must be a number. Got " + repr(x) + " instead.");
        }
        throw fail(where, "must be a number (or \"NaN\", \"Infinity\", \"-Infinity\"). Got " + repr(x) + " instead.");
    }

    static double[] numbers(Object x, String where, long length) throws ModelException {
        if (!(x instanceof JArr)) {
            throw fail(where, "must be an array of numbers. Got " + typeName(x) + " instead.");
        }
        JArr a = (JArr) x;
        if (length >= 0 && a.size() != length) {
            throw fail(where, "must have " + length + " numbers. Got " + a.size() + " instead.");
        }
        if (a.d != null) {
            return a.d;
        }
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = number(a.items[i], where + "[" + i + "]");
        }
        return out;
    }

    static double[][] matrix(Object x, String where, long rows, long cols) throws ModelException {
        if (!(x instanceof JArr)) {
            throw fail(where, "must be an array of arrays");
        }
        JArr a = (JArr) x;
        if (rows >= 0 && a.size() != rows) {
            throw fail(where, "must have " + rows + " rows. Got " + a.size() + " instead.");
        }
        if (a.size() == 0) {
            return new double[0][];
        }
        long c = cols;
        if (c < 0) {
            Object first = a.get(0);
            c = first instanceof JArr ? ((JArr) first).size() : -1;
        }
        double[][] out = new double[a.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = numbers(a.get(i), where + "[" + i + "]", c);
        }
        return out;
    }

    static String bound(Long b) {
        return b == null ? "None" : b.toString();
    }

    static long intv(Object x, String where, Long lo, Long hi) throws ModelException {
        if (!(x instanceof JNum) || !((JNum) x).isInt) {
            throw fail(where, "must be an integer. Got " + repr(x) + " instead.");
        }
        long v = ((JNum) x).l;
        if ((lo != null && v < lo) || (hi != null && v > hi)) {
            throw fail(where, "must be in [" + bound(lo) + ", " + bound(hi) + "]. Got " + v + " instead.");
        }
        return v;
    }

    static int width(Object x, String where) throws ModelException {
        long v = intv(x, where, 0L, null);
        if (v > MAX_WIDTH) {
            throw fail(where, v + " columns is more than this scorer's limit of " + MAX_WIDTH);
        }
        return (int) v;
    }

    static long[] ints(Object x, String where, long length) throws ModelException {
        if (!(x instanceof JArr)) {
            throw fail(where, "must be an array of integers");
        }
        JArr a = (JArr) x;
        if (length >= 0 && a.size() != length) {
            throw fail(where, "must have " + length + " integers. Got " + a.size() + " instead.");
        }
        if (a.d == null) {
            for (int i = 0; i < a.items.length; i++) {
                if (!(a.items[i] instanceof JNum) || !((JNum) a.items[i]).isInt) {
                    throw fail(where + "[" + i + "]", "must be an integer. Got " + repr(a.items[i]) + " instead.");
                }
            }
            return JArr.of(Arrays.asList(a.items)).l;
        }
        for (int i = 0; i < a.isInt.length; i++) {
            if (!a.isInt[i]) {
                throw fail(where + "[" + i + "]", "must be an integer. Got " + a.get(i) + " instead.");
            }
        }
        return a.l;
    }

    static String enumv(Object x, String where, String... allowed) throws ModelException {
        for (String a : allowed) {
            if (a.equals(x)) {
                return a;
            }
        }
        throw fail(where, "must be one of " + String.join(", ", allowed) + ". Got " + repr(x)
            + " instead (unknown to this scorer).");
    }

    static boolean bool(Object x, String where, String msg) throws ModelException {
        if (!(x instanceof Boolean)) {
            throw fail(where, msg);
        }
        return (Boolean) x;
    }

    /** A typed value: {"number": n} or {"string": s}. */
    static final class Typed {
        final boolean isString;
        final double num;
        final String str;

        Typed(boolean isString, double num, String str) {
            this.isString = isString;
            this.num = num;
            this.str = str;
        }
    }

    @SuppressWarnings("unchecked")
    static Typed typed(Object x, String where) throws ModelException {
        if (!(x instanceof Map) || ((Map<String, Object>) x).size() != 1) {
            throw fail(where, "must be {\"number\": n} or {\"string\": s}");
        }
        Map<String, Object> m = (Map<String, Object>) x;
        if (m.containsKey("number")) {
            return new Typed(false, number(m.get("number"), where + ".number"), null);
        }
        if (m.containsKey("string")) {
            Object s = m.get("string");
            if (!(s instanceof String)) {
                throw fail(where, "string value must be a JSON string");
            }
            return new Typed(true, 0.0, (String) s);
        }
        throw fail(where, "must be {\"number\": n} or {\"string\": s}");
    }

    static String[] strings(Object x, String where) throws ModelException {
        if (!(x instanceof JArr)) {
            throw fail(where, "must be an array of strings");
        }
        JArr a = (JArr) x;
        if (a.size() == 0) {
            return new String[0];
        }
        if (a.items == null) {
            throw fail(where, "must be an array of strings");
        }
        String[] out = new String[a.items.length];
        for (int i = 0; i < out.length; i++) {
            if (!(a.items[i] instanceof String)) {
                throw fail(where, "must be an array of strings");
            }
            out[i] = (String) a.items[i];
        }
        return out;
    }

    static JArr array(Object x, String where, String msg) throws ModelException {
        if (!(x instanceof JArr)) {
            throw fail(where, msg);
        }
        return (JArr) x;
    }

    // ================================================================== cells and workspaces

    /**
     * A row of cells: str[j] != null is a string cell, else num[j] is a number cell (NaN = missing).
     */
    static final class Cells {
        final double[] num;
        final String[] str;

        Cells(int n) {
            num = new double[n];
            str = new String[n];
        }
    }

    /** Per-thread scratch space. */
    final class Workspace {
        final Cells[] slots;
        final double[] x;       // BLOCK x n features
        final double[] raw;     // BLOCK x m
        final double[] cast;    // float32-cast features (trees)
        final double[] a;       // MLP activations
        final double[] b;
        final double[] proba;
        final int block;

        Workspace() {
            slots = new Cells[slotWidths.length];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new Cells(slotWidths[i]);
            }
            int n = model.n;
            block = (int) Math.max(1, Math.min(BLOCK, (1L << 20) / Math.max(1, Math.max(n, model.m))));
            x = new double[block * n];
            raw = new double[block * model.m];
            cast = model instanceof Ensemble && ((Ensemble) model).cast ? new double[block * n] : null;
            int w = model instanceof Mlp ? ((Mlp) model).maxWidth : 0;
            a = new double[w];
            b = new double[w];
            proba = new double[Math.max(output.k, model.m)];
        }
    }

    static InputException stringReachedNumeric(String where, String v, long row) {
        return new InputException(where + ": string value " + repr(v) + " reached a numeric step (row " + row + ").", row);
    }

    // ================================================================== transform steps

    abstract static class Step {
        int nIn;
        int nOut;
        String where;

        /** Reads in.num/str[0..nIn), writes out.num/str[0..nOut). {@code in} and {@code out} never alias. */
        abstract void apply(Cells in, Cells out, Workspace ws, long row);

        /** Reads the node's n_in and n_out. */
        final void widths(Map<String, Object> m, String where) throws ModelException {
            nIn = width(m.get("n_in"), where + ".n_in");
            nOut = width(m.get("n_out"), where + ".n_out");
        }

        final double numeric(Cells in, int j, long row) {
            String s = in.str[j];
            if (s != null) {
                throw stringReachedNumeric(where, s, row);
            }
            return in.num[j];
        }
    }

    static void copy(Cells in, int from, Cells out, int to, int n) {
        System.arraycopy(in.num, from, out.num, to, n);
        System.arraycopy(in.str, from, out.str, to, n);
    }

    final class Compiler {
        final List<Integer> widths = new ArrayList<>();
        long total;

        int slot(int width) throws ModelException {
            total += width;
            if (total > MAX_WORKSPACE) {
                throw new ModelException("JSON document: the steps need more than " + MAX_WORKSPACE
                    + " intermediate cells per row: too large for this scorer");
            }
            widths.add(width);
            return widths.size() - 1;
        }

        int[] widths() {
            int[] out = new int[widths.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = widths.get(i);
            }
            return out;
        }

        /** Steps applied in order; intermediate results go to fresh slots. The top level reads slot inSlot. */
        Step chain(List<Step> list, int nIn, int nOut, String where, int inSlot) throws ModelException {
            Pipeline p = new Pipeline();
            p.nIn = nIn;
            p.nOut = nOut;
            p.where = where;
            p.steps = list.toArray(new Step[0]);
            p.slots = new int[Math.max(0, p.steps.length - 1)];
            for (int i = 0; i + 1 < p.steps.length; i++) {
                p.slots[i] = slot(p.steps[i].nOut);
            }
            p.inSlot = inSlot;
            p.outSlot = inSlot >= 0 ? slot(nOut) : -1;
            return p;
        }

        Step transform(Object d, String where, int depth) throws ModelException {
            if (depth > MAX_DEPTH) {
                throw fail(where, "steps nested too deeply");
            }
            if (!(d instanceof Map) || !((Map<?, ?>) d).containsKey("type")) {
                throw fail(where, "a step must be an object with a 'type'");
            }
            Map<?, ?> m = (Map<?, ?>) d;
            Object t = m.get("type");
            String[] types = {"pipeline", "column_transformer", "identity", "impute", "center_scale", "multiply_add",
                "one_hot", "ordinal", "polynomial", "project", "expression"};
            String type = null;
            for (String s : types) {
                if (s.equals(t)) {
                    type = s;
                }
            }
            if (type == null) {
                throw fail(where, "unknown node type " + repr(t) + " (this scorer knows " + String.join(", ", types) + ")");
            }
            where = m.containsKey("path") ? where + "(" + type + " '" + pathText(m.get("path")) + "')" : where + "(" + type + ")";
            Step s;
            switch (type) {
                case "pipeline":
                    s = pipeline(d, where, depth);
                    break;
                case "column_transformer":
                    s = columnTransformer(d, where, depth);
                    break;
                case "identity":
                    s = identity(d, where);
                    break;
                case "impute":
                    s = impute(d, where);
                    break;
                case "center_scale":
                case "multiply_add":
                    s = affine(d, where, type.equals("center_scale"));
                    break;
                case "one_hot":
                    s = oneHot(d, where);
                    break;
                case "ordinal":
                    s = ordinal(d, where);
                    break;
                case "polynomial":
                    s = polynomial(d, where);
                    break;
                case "expression":
                    s = expression(d, where);
                    break;
                default:
                    s = project(d, where);
            }
            s.where = where;
            return s;
        }

        Step pipeline(Object d, String where, int depth) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("steps"), INFO);
            int nIn = width(m.get("n_in"), where + ".n_in");
            int nOut = width(m.get("n_out"), where + ".n_out");
            JArr sa = array(m.get("steps"), where, "steps must be an array");
            List<Step> list = new ArrayList<>();
            int cur = nIn;
            for (int i = 0; i < sa.size(); i++) {
                Step s = transform(sa.get(i), where + ".steps[" + i + "]", depth + 1);
                if (s.nIn != cur) {
                    throw fail(s.where, "takes " + s.nIn + " columns but receives " + cur);
                }
                cur = s.nOut;
                list.add(s);
            }
            if (cur != nOut) {
                throw fail(where, "n_out is " + nOut + " but its steps give " + cur);
            }
            return chain(list, nIn, nOut, where, -1);
        }

        Step columnTransformer(Object d, String where, int depth) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("parts"), INFO);
            int nIn = width(m.get("n_in"), where + ".n_in");
            int nOut = width(m.get("n_out"), where + ".n_out");
            JArr pa = array(m.get("parts"), where, "parts must be an array");
            ColumnTransformer ct = new ColumnTransformer();
            ct.nIn = nIn;
            ct.nOut = nOut;
            int k = pa.size();
            ct.cols = new int[k][];
            ct.nodes = new Step[k];
            ct.weight = new double[k];
            ct.weighted = new boolean[k];
            ct.inSlot = new int[k];
            ct.outSlot = new int[k];
            ct.partWhere = new String[k];
            long total = 0;
            for (int i = 0; i < k; i++) {
                String pw = where + ".parts[" + i + "]";
                Map<String, Object> p = obj(pa.get(i), pw, new String[] {"name", "columns", "node"}, new String[] {"weight"});
                long[] cols = ints(p.get("columns"), pw + ".columns", -1);
                int[] c = new int[cols.length];
                for (int j = 0; j < cols.length; j++) {
                    if (cols[j] < 0 || cols[j] >= nIn) {
                        throw fail(pw, "column index out of range [0, " + nIn + ")");
                    }
                    c[j] = (int) cols[j];
                }
                Step node = transform(p.get("node"), pw + ".node", depth + 1);
                if (node.nIn != c.length) {
                    throw fail(pw, "selects " + c.length + " columns but its node takes " + node.nIn);
                }
                if (p.containsKey("weight")) {
                    ct.weighted[i] = true;
                    ct.weight[i] = number(p.get("weight"), pw + ".weight");
                }
                ct.cols[i] = c;
                ct.nodes[i] = node;
                ct.partWhere[i] = pw;
                ct.inSlot[i] = slot(c.length);
                ct.outSlot[i] = slot(node.nOut);
                total += node.nOut;
            }
            if (total != nOut) {
                throw fail(where, "n_out is " + nOut + " but its parts give " + total);
            }
            return ct;
        }

        Step identity(Object d, String where) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON, INFO);
            Identity s = new Identity();
            s.widths(m, where);
            if (s.nIn != s.nOut) {
                throw fail(where, "identity must have n_in == n_out");
            }
            return s;
        }

        Step impute(Object d, String where) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("missing_value", "columns", "indicators"), INFO);
            Impute s = new Impute();
            s.widths(m, where);
            s.missing = typed(m.get("missing_value"), where + ".missing_value");
            JArr ca = array(m.get("columns"), where, "columns must be an array");
            s.input = new int[ca.size()];
            s.fill = new Typed[ca.size()];
            for (int i = 0; i < ca.size(); i++) {
                String cw = where + ".columns[" + i + "]";
                Map<String, Object> c = obj(ca.get(i), cw, new String[] {"input", "fill"}, NONE);
                s.input[i] = (int) intv(c.get("input"), cw + ".input", 0L, (long) s.nIn - 1);
                s.fill[i] = typed(c.get("fill"), cw + ".fill");
            }
            long[] ind = ints(m.get("indicators"), where + ".indicators", -1);
            s.indicators = new int[ind.length];
            for (int i = 0; i < ind.length; i++) {
                if (ind[i] < 0 || ind[i] >= s.nIn) {
                    throw fail(where, "indicator column " + ind[i] + " out of range [0, " + s.nIn + ")");
                }
                s.indicators[i] = (int) ind[i];
            }
            if ((long) s.input.length + s.indicators.length != s.nOut) {
                throw fail(where, "n_out is " + s.nOut + " but it gives " + (s.input.length + s.indicators.length) + " columns");
            }
            return s;
        }

        Step affine(Object d, String where, boolean centerScale) throws ModelException {
            String a = centerScale ? "center" : "multiply";
            String b = centerScale ? "scale" : "add";
            Map<String, Object> m = obj(d, where, COMMON_PLUS(a, b), concat(INFO, "clip"));
            Affine s = new Affine();
            s.centerScale = centerScale;
            s.widths(m, where);
            if (s.nIn != s.nOut) {
                throw fail(where, "n_in must equal n_out");
            }
            s.a = numbers(m.get(a), where + "." + a, s.nIn);
            s.b = numbers(m.get(b), where + "." + b, s.nIn);
            if (m.containsKey("clip")) {
                double[] c = numbers(m.get("clip"), where + ".clip", 2);
                s.clip = true;
                s.lo = c[0];
                s.hi = c[1];
            }
            return s;
        }

        Categories categories(Map<String, Object> f, String fw) throws ModelException {
            String kind = enumv(f.get("kind"), fw + ".kind", "number", "string");
            Categories c = new Categories();
            if (kind.equals("string")) {
                String[] vals = strings(f.get("categories"), fw + ".categories");
                c.size = vals.length;
                c.strings = new HashMap<>();
                for (int i = 0; i < vals.length; i++) {
                    c.strings.putIfAbsent(vals[i], i);
                }
            } else {
                double[] vals = numbers(f.get("categories"), fw + ".categories", -1);
                c.size = vals.length;
                c.numbers = new HashMap<>();
                for (int i = 0; i < vals.length; i++) {
                    if (Double.isNaN(vals[i])) {
                        throw fail(fw, "categories must not contain NaN (missing has its own field)");
                    }
                    c.numbers.putIfAbsent(vals[i] + 0.0, i); // + 0.0: -0.0 and 0.0 are one category, as with ==
                }
            }
            return c;
        }

        Step oneHot(Object d, String where) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("features"), INFO);
            OneHot s = new OneHot();
            s.widths(m, where);
            Object fs = m.get("features");
            if (!(fs instanceof JArr) || ((JArr) fs).size() != s.nIn) {
                throw fail(where, "features must be an array of " + s.nIn + " objects");
            }
            JArr fa = (JArr) fs;
            s.cats = new Categories[s.nIn];
            s.index = new int[s.nIn][];
            s.width = new int[s.nIn];
            s.missing = new int[s.nIn];
            s.hasMissing = new boolean[s.nIn];
            s.unknown = new int[s.nIn];
            s.encodeUnknown = new boolean[s.nIn];
            s.fw = new String[s.nIn];
            long total = 0;
            for (int i = 0; i < s.nIn; i++) {
                String fw = where + ".features[" + i + "]";
                Map<String, Object> f = obj(fa.get(i), fw, new String[] {"kind", "categories", "index", "width", "on_unknown"},
                    new String[] {"missing", "unknown"});
                Categories cats = categories(f, fw);
                int w = width(f.get("width"), fw + ".width");
                long[] index = ints(f.get("index"), fw + ".index", cats.size);
                int[] idx = new int[index.length];
                for (int j = 0; j < index.length; j++) {
                    if (index[j] < -1 || index[j] >= w) {
                        throw fail(fw, "index values must be in [-1, " + w + ")");
                    }
                    idx[j] = (int) index[j];
                }
                if (f.containsKey("missing")) {
                    s.hasMissing[i] = true;
                    s.missing[i] = (int) intv(f.get("missing"), fw + ".missing", -1L, (long) w - 1);
                }
                String onUnknown = enumv(f.get("on_unknown"), fw + ".on_unknown", "error", "encode");
                if (onUnknown.equals("encode")) {
                    if (!f.containsKey("unknown")) {
                        throw fail(fw, "on_unknown 'encode' needs 'unknown'");
                    }
                    s.encodeUnknown[i] = true;
                    s.unknown[i] = (int) intv(f.get("unknown"), fw + ".unknown", -1L, (long) w - 1);
                } else if (f.containsKey("unknown")) {
                    throw fail(fw, "'unknown' is only allowed with on_unknown 'encode'");
                }
                s.cats[i] = cats;
                s.index[i] = idx;
                s.width[i] = w;
                s.fw[i] = fw;
                total += w;
            }
            if (total != s.nOut) {
                throw fail(where, "n_out is " + s.nOut + " but the feature widths add up to " + total);
            }
            return s;
        }

        Step ordinal(Object d, String where) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("features"), INFO);
            Ordinal s = new Ordinal();
            s.widths(m, where);
            if (s.nIn != s.nOut) {
                throw fail(where, "n_in must equal n_out");
            }
            Object fs = m.get("features");
            if (!(fs instanceof JArr) || ((JArr) fs).size() != s.nIn) {
                throw fail(where, "features must be an array of " + s.nIn + " objects");
            }
            JArr fa = (JArr) fs;
            s.cats = new Categories[s.nIn];
            s.code = new double[s.nIn][];
            s.missing = new double[s.nIn];
            s.hasMissing = new boolean[s.nIn];
            s.unknown = new double[s.nIn];
            s.encodeUnknown = new boolean[s.nIn];
            s.fw = new String[s.nIn];
            for (int i = 0; i < s.nIn; i++) {
                String fw = where + ".features[" + i + "]";
                Map<String, Object> f = obj(fa.get(i), fw, new String[] {"kind", "categories", "code", "on_unknown"},
                    new String[] {"missing", "unknown"});
                Categories cats = categories(f, fw);
                s.code[i] = numbers(f.get("code"), fw + ".code", cats.size);
                if (f.containsKey("missing")) {
                    s.hasMissing[i] = true;
                    s.missing[i] = number(f.get("missing"), fw + ".missing");
                }
                String onUnknown = enumv(f.get("on_unknown"), fw + ".on_unknown", "error", "encode");
                if (onUnknown.equals("encode")) {
                    if (!f.containsKey("unknown")) {
                        throw fail(fw, "on_unknown 'encode' needs 'unknown'");
                    }
                    s.encodeUnknown[i] = true;
                    s.unknown[i] = number(f.get("unknown"), fw + ".unknown");
                } else if (f.containsKey("unknown")) {
                    throw fail(fw, "'unknown' is only allowed with on_unknown 'encode'");
                }
                s.cats[i] = cats;
                s.fw[i] = fw;
            }
            return s;
        }

        Step polynomial(Object d, String where) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("terms"), INFO);
            Polynomial s = new Polynomial();
            s.widths(m, where);
            Object ts = m.get("terms");
            if (!(ts instanceof JArr) || ((JArr) ts).size() != s.nOut) {
                throw fail(where, "terms must be an array of " + s.nOut + " arrays");
            }
            JArr ta = (JArr) ts;
            s.terms = new int[s.nOut][];
            for (int i = 0; i < s.nOut; i++) {
                long[] t = ints(ta.get(i), where + ".terms[" + i + "]", -1);
                int[] ti = new int[t.length];
                for (int j = 0; j < t.length; j++) {
                    if (t[j] < 0 || t[j] >= s.nIn) {
                        throw fail(where + ".terms[" + i + "]", "column index out of range [0, " + s.nIn + ")");
                    }
                    ti[j] = (int) t[j];
                }
                s.terms[i] = ti;
            }
            return s;
        }

        Step expression(Object d, String where) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("program"), INFO);
            int nIn = width(m.get("n_in"), where + ".n_in");
            int nOut = width(m.get("n_out"), where + ".n_out");
            Expression s = new Expression();
            s.nIn = nIn;
            s.nOut = nOut;
            ExprProgram prog = ExprProgram.read(m.get("program"), where + ".program");
            if (prog.nIn != nIn || prog.info.width != nOut) {
                throw fail(where, "program maps " + (prog.nIn < 0 ? "None" : prog.nIn) + " -> "
                    + (prog.info.width < 0 ? "None" : prog.info.width) + " columns, the step says " + nIn + " -> " + nOut);
            }
            s.output = prog.output;
            return s;
        }

        Step project(Object d, String where) throws ModelException {
            Map<String, Object> m = obj(d, where, COMMON_PLUS("components", "offset"), concat(INFO, "divide"));
            Project s = new Project();
            s.widths(m, where);
            s.components = matrix(m.get("components"), where + ".components", s.nOut, s.nIn);
            s.offset = numbers(m.get("offset"), where + ".offset", s.nOut);
            s.divide = m.containsKey("divide") ? numbers(m.get("divide"), where + ".divide", s.nOut) : null;
            return s;
        }
    }

    static final String[] COMMON = {"type", "n_in", "n_out"};
    static final String[] INFO = {"path", "class"};

    static String[] COMMON_PLUS(String... more) {
        return concat(COMMON, more);
    }

    static String pathText(Object p) {
        return p instanceof String ? clip((String) p, 200) : repr(p);
    }

    static final class Pipeline extends Step {
        Step[] steps;
        int[] slots;
        int inSlot = -1;
        int outSlot = -1;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            if (steps.length == 0) {
                copy(in, 0, out, 0, nIn);
                return;
            }
            Cells cur = in;
            for (int i = 0; i < steps.length; i++) {
                Cells dst = i == steps.length - 1 ? out : ws.slots[slots[i]];
                steps[i].apply(cur, dst, ws, row);
                cur = dst;
            }
        }
    }

    static final class ColumnTransformer extends Step {
        int[][] cols;
        Step[] nodes;
        double[] weight;
        boolean[] weighted;
        int[] inSlot;
        int[] outSlot;
        String[] partWhere;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            int off = 0;
            for (int p = 0; p < nodes.length; p++) {
                Cells a = ws.slots[inSlot[p]];
                Cells b = ws.slots[outSlot[p]];
                int[] c = cols[p];
                for (int j = 0; j < c.length; j++) {
                    a.num[j] = in.num[c[j]];
                    a.str[j] = in.str[c[j]];
                }
                Step node = nodes[p];
                node.apply(a, b, ws, row);
                if (weighted[p]) {
                    double w = weight[p];
                    for (int j = 0; j < node.nOut; j++) {
                        if (b.str[j] != null) {
                            throw stringReachedNumeric(partWhere[p], b.str[j], row);
                        }
                        out.num[off + j] = b.num[j] * w;
                        out.str[off + j] = null;
                    }
                } else {
                    copy(b, 0, out, off, node.nOut);
                }
                off += node.nOut;
            }
        }
    }

    static final class Identity extends Step {
        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            copy(in, 0, out, 0, nIn);
        }
    }

    static final class Impute extends Step {
        Typed missing;
        int[] input;
        Typed[] fill;
        int[] indicators;

        boolean matches(Cells in, int j) {
            String s = in.str[j];
            if (missing.isString) {
                return s != null && s.equals(missing.str);
            }
            if (s != null) {
                return false;
            }
            double v = in.num[j];
            return Double.isNaN(missing.num) ? Double.isNaN(v) : v == missing.num;
        }

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            for (int i = 0; i < input.length; i++) {
                int j = input[i];
                if (matches(in, j)) {
                    Typed f = fill[i];
                    out.num[i] = f.isString ? 0.0 : f.num;
                    out.str[i] = f.isString ? f.str : null;
                } else {
                    out.num[i] = in.num[j];
                    out.str[i] = in.str[j];
                }
            }
            int o = input.length;
            for (int i = 0; i < indicators.length; i++) {
                out.num[o + i] = matches(in, indicators[i]) ? 1.0 : 0.0;
                out.str[o + i] = null;
            }
        }
    }

    static final class Affine extends Step {
        boolean centerScale;
        double[] a;
        double[] b;
        boolean clip;
        double lo;
        double hi;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            for (int j = 0; j < nIn; j++) {
                double x = numeric(in, j, row);
                double y = centerScale ? (x - a[j]) / b[j] : x * a[j] + b[j];
                if (clip) {
                    if (y < lo) {
                        y = lo;
                    }
                    if (y > hi) {
                        y = hi;
                    }
                }
                out.num[j] = y;
                out.str[j] = null;
            }
        }
    }

    static final class Categories {
        int size;
        HashMap<String, Integer> strings;
        HashMap<Double, Integer> numbers;

        /** Index of the cell's category, -1 when unknown or missing. */
        int position(Cells in, int j) {
            String s = in.str[j];
            if (strings != null) {
                if (s == null) {
                    return -1;
                }
                Integer p = strings.get(s);
                return p == null ? -1 : p;
            }
            double v = in.num[j];
            if (s != null || Double.isNaN(v)) {
                return -1;
            }
            Integer p = numbers.get(v + 0.0);
            return p == null ? -1 : p;
        }
    }

    static InputException unknownCategory(String fw, Cells in, int j, long row) {
        String what = in.str[j] == null && Double.isNaN(in.num[j]) ? "a missing value"
            : "unknown category " + (in.str[j] != null ? repr(in.str[j]) : pyRepr(in.num[j]));
        return new InputException(fw + ": " + what + " in row " + row
            + ", and the encoder was fitted with handle_unknown='error'.", row);
    }

    static final class OneHot extends Step {
        Categories[] cats;
        int[][] index;
        int[] width;
        int[] missing;
        boolean[] hasMissing;
        int[] unknown;
        boolean[] encodeUnknown;
        String[] fw;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            int off = 0;
            for (int j = 0; j < nIn; j++) {
                int w = width[j];
                int pos = cats[j].position(in, j);
                int code;
                if (pos >= 0) {
                    code = index[j][pos];
                } else if (hasMissing[j] && in.str[j] == null && Double.isNaN(in.num[j])) {
                    code = missing[j];
                } else if (encodeUnknown[j]) {
                    code = unknown[j];
                } else {
                    throw unknownCategory(fw[j], in, j, row);
                }
                Arrays.fill(out.num, off, off + w, 0.0);
                Arrays.fill(out.str, off, off + w, null);
                if (code >= 0) {
                    out.num[off + code] = 1.0;
                }
                off += w;
            }
        }
    }

    static final class Ordinal extends Step {
        Categories[] cats;
        double[][] code;
        double[] missing;
        boolean[] hasMissing;
        double[] unknown;
        boolean[] encodeUnknown;
        String[] fw;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            for (int j = 0; j < nIn; j++) {
                int pos = cats[j].position(in, j);
                double v;
                if (pos >= 0) {
                    v = code[j][pos];
                } else if (hasMissing[j] && in.str[j] == null && Double.isNaN(in.num[j])) {
                    v = missing[j];
                } else if (encodeUnknown[j]) {
                    v = unknown[j];
                } else {
                    throw unknownCategory(fw[j], in, j, row);
                }
                out.num[j] = v;
                out.str[j] = null;
            }
        }
    }

    static final class Polynomial extends Step {
        int[][] terms;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            for (int j = 0; j < nIn; j++) {
                numeric(in, j, row);
            }
            for (int i = 0; i < terms.length; i++) {
                int[] t = terms[i];
                double acc = 1.0;
                if (t.length > 0) {
                    acc = in.num[t[0]];
                    for (int q = 1; q < t.length; q++) {
                        acc = acc * in.num[t[q]];
                    }
                }
                out.num[i] = acc;
                out.str[i] = null;
            }
        }
    }

    static final class Project extends Step {
        double[][] components;
        double[] offset;
        double[] divide;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            for (int j = 0; j < nIn; j++) {
                numeric(in, j, row);
            }
            for (int i = 0; i < nOut; i++) {
                double[] c = components[i];
                double s = 0.0;
                for (int j = 0; j < nIn; j++) {
                    s += in.num[j] * c[j];
                }
                double y = s - offset[i];
                if (divide != null) {
                    y = y / divide[i];
                }
                out.num[i] = y;
                out.str[i] = null;
            }
        }
    }

    // ================================================================== expression steps (mlexport.expr IR, version 1)

    static final String EXPR_FORMAT = "mlexport.expr";
    static final int EXPR_VERSION = 1;
    static final List<String> UNARY_FLOAT = Arrays.asList("neg", "abs", "exp", "log", "log2", "log10", "log1p", "expm1",
        "sqrt", "square", "reciprocal", "sin", "cos", "tan", "tanh", "floor", "ceil", "trunc", "round", "sign");
    static final List<String> UNARY_PRED = Arrays.asList("isnan", "isinf", "isfinite");
    static final List<String> BINARY_FLOAT = Arrays.asList("add", "sub", "mul", "div", "pow", "mod", "fmod", "min", "max",
        "fmin", "fmax");
    static final List<String> BINARY_CMP = Arrays.asList("lt", "le", "gt", "ge");
    static final List<String> BINARY_EQ = Arrays.asList("eq", "ne");
    static final List<String> BINARY_BOOL = Arrays.asList("and", "or", "xor");

    /** Static type of an expression node: dtype, rank (0, 1, 2) and width (rank 2; -1 if unknown). */
    static final class EInfo {
        final boolean bool;
        final int rank;
        final int width;

        EInfo(boolean bool, int rank, int width) {
            this.bool = bool;
            this.rank = rank;
            this.width = width;
        }

        String dtype() {
            return bool ? "bool" : "float64";
        }
    }

    /** One node of an expression, evaluated for one row at a time. */
    static final class ENode {
        String op;
        ENode[] args = new ENode[0];
        int[] idx;              // col / cols
        double value;           // const
        boolean constBool;
        boolean hasLo;
        boolean hasHi;
        double lo;
        double hi;
        EInfo info;
        boolean isConst;

        int outWidth() {
            return info.rank == 2 ? info.width : 1;
        }

        /** The node's values for one row: width values (rank 2) or one value; booleans are 1.0 / 0.0. */
        double[] eval(double[] x) {
            int w = outWidth();
            double[] r = new double[w];
            switch (op) {
                case "input":
                    System.arraycopy(x, 0, r, 0, w);
                    return r;
                case "col":
                    r[0] = x[idx[0]];
                    return r;
                case "cols":
                    for (int j = 0; j < w; j++) {
                        r[j] = x[idx[j]];
                    }
                    return r;
                case "const":
                    r[0] = value;
                    return r;
                case "where": {
                    double[] c = args[0].eval(x);
                    double[] a = args[1].eval(x);
                    double[] b = args[2].eval(x);
                    for (int j = 0; j < w; j++) {
                        r[j] = at(c, j) != 0.0 ? at(a, j) : at(b, j);
                    }
                    return r;
                }
                case "clip": {
                    double[] a = args[0].eval(x);
                    for (int j = 0; j < w; j++) {
                        double v = a[j];
                        if (hasLo && v < lo) {
                            v = lo;
                        }
                        if (hasHi && v > hi) {
                            v = hi;
                        }
                        r[j] = v;
                    }
                    return r;
                }
                case "concat": {
                    int o = 0;
                    for (ENode p : args) {
                        double[] a = p.eval(x);
                        System.arraycopy(a, 0, r, o, a.length);
                        o += a.length;
                    }
                    return r;
                }
                default:
                    break;
            }
            if (args.length == 1) {
                double[] a = args[0].eval(x);
                for (int j = 0; j < w; j++) {
                    r[j] = unary(op, a[j]);
                }
                return r;
            }
            double[] a = args[0].eval(x);
            double[] b = args[1].eval(x);
            boolean fast = op.equals("pow") && args[1].isConst; // numpy's power(array, scalar) fast paths
            for (int j = 0; j < w; j++) {
                r[j] = binary(op, at(a, j), at(b, j), fast);
            }
            return r;
        }

        static double at(double[] v, int j) {
            return v.length == 1 ? v[0] : v[j];
        }
    }

    static double bool(boolean b) {
        return b ? 1.0 : 0.0;
    }

    /** log2 that is exact for powers of two (as numpy's). */
    static double log2(double x) {
        if (!(x > 0) || Double.isInfinite(x)) {
            return Math.log(x) / Math.log(2.0); // NaN, -inf (x = 0), NaN (x < 0), +inf
        }
        int e = 0;
        if (x < Double.MIN_NORMAL) {
            x *= 0x1p54;
            e = -54;
        }
        e += Math.getExponent(x);
        double m = x / Math.scalb(1.0, Math.getExponent(x)); // in [1, 2)
        return m == 1.0 ? e : e + Math.log(m) / Math.log(2.0);
    }

    static double unary(String op, double v) {
        switch (op) {
            case "neg": return -v;
            case "abs": return Math.abs(v);
            case "exp": return Math.exp(v);
            case "log": return Math.log(v);
            case "log2": return log2(v);
            case "log10": return Math.log10(v);
            case "log1p": return Math.log1p(v);
            case "expm1": return Math.expm1(v);
            case "sqrt": return Math.sqrt(v);
            case "square": return v * v;
            case "reciprocal": return 1.0 / v;
            case "sin": return Math.sin(v);
            case "cos": return Math.cos(v);
            case "tan": return Math.tan(v);
            case "tanh": return Math.tanh(v);
            case "floor": return Math.floor(v);
            case "ceil": return Math.ceil(v);
            case "trunc": return v < 0 ? Math.ceil(v) : Math.floor(v);
            case "round": return Math.rint(v);
            case "sign": return v != v ? v : v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0;
            case "isnan": return bool(v != v);
            case "isinf": return bool(Double.isInfinite(v));
            case "isfinite": return bool(!Double.isNaN(v) && !Double.isInfinite(v));
            case "not": return bool(v == 0.0);
            default: return v; // to_float: booleans are already 1.0 / 0.0
        }
    }

    /** C99 pow (what numpy's power computes), with numpy's fast paths for a scalar exponent 2, 0.5, -1. */
    static double pow(double x, double y, boolean scalarExponent) {
        if (scalarExponent) {
            if (y == 2.0) {
                return x * x;
            }
            if (y == 0.5) {
                return Math.sqrt(x);
            }
            if (y == -1.0) {
                return 1.0 / x;
            }
        }
        if (x == 1.0 || y == 0.0) {
            return 1.0;
        }
        if (x == -1.0 && Double.isInfinite(y)) {
            return 1.0;
        }
        return Math.pow(x, y);
    }

    static double binary(String op, double a, double b, boolean fastPow) {
        switch (op) {
            case "add": return a + b;
            case "sub": return a - b;
            case "mul": return a * b;
            case "div": return a / b;
            case "pow": return pow(a, b, fastPow);
            case "mod": {                                   // np.remainder: the divisor's sign
                double m = a % b;
                if (b == 0.0 || m != m) {
                    return m;
                }
                if (m != 0.0) {
                    return (b < 0) != (m < 0) ? m + b : m;
                }
                return Math.copySign(0.0, b);
            }
            case "fmod": return a % b;
            case "min": return a != a ? a : b != b ? b : a < b ? a : b;
            case "max": return a != a ? a : b != b ? b : a > b ? a : b;
            case "fmin": return a != a ? b : b != b ? a : a < b ? a : b;   // ties (0.0 / -0.0) give b, as numpy's
            case "fmax": return a != a ? b : b != b ? a : a > b ? a : b;
            case "lt": return bool(a < b);
            case "le": return bool(a <= b);
            case "gt": return bool(a > b);
            case "ge": return bool(a >= b);
            case "eq": return bool(a == b);
            case "ne": return bool(a != b);
            case "and": return bool(a != 0.0 && b != 0.0);
            case "or": return bool(a != 0.0 || b != 0.0);
            default: return bool((a != 0.0) != (b != 0.0)); // xor
        }
    }

    static final class ExprProgram {
        int nIn;        // -1: null
        ENode output;
        EInfo info;

        static ModelException bad(String where, String msg) {
            return fail(where, msg);
        }

        static double exprNumber(Object v, String where) throws ModelException {
            if (v instanceof String) {
                if (isNonFinite(v)) {
                    return nonFinite(v);
                }
                throw bad(where, "a number must be a JSON number, 'NaN', 'Infinity' or '-Infinity'. Got " + repr(v)
                    + " instead.");
            }
            if (!(v instanceof JNum)) {
                throw bad(where, "a number must be a JSON number. Got " + repr(v) + " instead.");
            }
            return ((JNum) v).v;
        }

        static void thaw(Object v, String where) throws ModelException {
            if (v instanceof JArr) {
                JArr a = (JArr) v;
                for (int i = 0; i < a.size(); i++) {
                    thaw(a.get(i), where);
                }
            } else if (v instanceof String) {
                exprNumber(v, where);
            }
        }

        @SuppressWarnings("unchecked")
        static ExprProgram read(Object p, String where) throws ModelException {
            if (!(p instanceof Map) || !EXPR_FORMAT.equals(((Map<String, Object>) p).get("format"))) {
                throw bad(where, "not an " + EXPR_FORMAT + " document");
            }
            Map<String, Object> d = (Map<String, Object>) p;
            Object version = d.get("version");
            if (!(version instanceof JNum) || ((JNum) version).v != EXPR_VERSION) {
                throw bad(where, EXPR_FORMAT + " version must be " + EXPR_VERSION + ". Got " + repr(version) + " instead.");
            }
            ExprProgram prog = new ExprProgram();
            Object n = d.get("n_features_in");
            if (n == null || n == JNULL) {
                prog.nIn = -1;
            } else if (n instanceof JNum && ((JNum) n).isInt && ((JNum) n).l >= 1 && ((JNum) n).l <= MAX_WIDTH) {
                prog.nIn = (int) ((JNum) n).l;
            } else {
                throw bad(where, "n_features_in must be a positive integer or null. Got " + repr(n) + " instead.");
            }
            Object frozen = d.get("frozen");
            if (frozen instanceof Map) {
                for (Object v : ((Map<String, Object>) frozen).values()) {
                    thaw(v, where);
                }
            } else if (!(frozen == null || frozen == JNULL || Boolean.FALSE.equals(frozen)
                || (frozen instanceof JNum && ((JNum) frozen).v == 0) || "".equals(frozen)
                || (frozen instanceof JArr && ((JArr) frozen).size() == 0))) {
                throw bad(where, "frozen must be an object");
            }
            prog.output = node(d.get("output"), where, 0);
            prog.info = infer(prog.output, prog.nIn, where);
            if (prog.info.rank != 2) {
                throw bad(where, "malformed expression program: output must be rank 2. Got rank " + prog.info.rank
                    + " instead.");
            }
            Object nOut = d.get("n_features_out");
            if (nOut != null && nOut != JNULL && !(nOut instanceof JNum && ((JNum) nOut).v == prog.info.width)) {
                throw bad(where, "n_features_out must be " + (prog.info.width < 0 ? "None" : prog.info.width) + ". Got "
                    + repr(nOut) + " instead.");
            }
            return prog;
        }

        @SuppressWarnings("unchecked")
        static ENode node(Object o, String where, int depth) throws ModelException {
            if (depth > MAX_DEPTH) {
                throw bad(where, "expression nested too deeply");
            }
            if (!(o instanceof Map) || !(((Map<String, Object>) o).get("op") instanceof String)) {
                throw bad(where, "an expression node must be an object with an 'op'. Got " + repr(o) + " instead.");
            }
            Map<String, Object> d = (Map<String, Object>) o;
            ENode e = new ENode();
            e.op = (String) d.get("op");
            Object args = d.containsKey("args") ? d.get("args") : null;
            JArr a;
            if (args == null) {
                a = JArr.of(new ArrayList<>());
            } else if (args instanceof JArr) {
                a = (JArr) args;
            } else {
                throw bad(where, "'args' of " + repr(e.op) + " must be a list. Got " + repr(args) + " instead.");
            }
            String op = e.op;
            int arity = -1;
            switch (op) {
                case "input":
                    return e;
                case "col":
                    e.idx = new int[] {index(d.get("index"), where)};
                    return e;
                case "cols": {
                    Object idx = d.get("indices");
                    if (!(idx instanceof JArr) || ((JArr) idx).size() == 0) {
                        throw bad(where, "'indices' must be a non-empty list. Got " + repr(idx) + " instead.");
                    }
                    JArr ia = (JArr) idx;
                    e.idx = new int[ia.size()];
                    for (int i = 0; i < ia.size(); i++) {
                        e.idx[i] = index(ia.get(i), where);
                    }
                    return e;
                }
                case "const": {
                    Object v = d.get("value");
                    e.isConst = true;
                    if (v instanceof Boolean) {
                        e.constBool = true;
                        e.value = bool((Boolean) v);
                    } else {
                        e.value = exprNumber(v, where);
                    }
                    return e;
                }
                case "where":
                    arity = 3;
                    break;
                case "clip": {
                    arity = 1;
                    Object lo = d.get("lo");
                    Object hi = d.get("hi");
                    if (lo != null && lo != JNULL) {
                        e.hasLo = true;
                        e.lo = exprNumber(lo, where);
                    }
                    if (hi != null && hi != JNULL) {
                        e.hasHi = true;
                        e.hi = exprNumber(hi, where);
                    }
                    break;
                }
                case "concat":
                    if (a.size() == 0) {
                        throw bad(where, "concat needs at least one argument");
                    }
                    arity = a.size();
                    break;
                default:
                    if (UNARY_FLOAT.contains(op) || UNARY_PRED.contains(op) || op.equals("not") || op.equals("to_float")) {
                        arity = 1;
                    } else if (BINARY_FLOAT.contains(op) || BINARY_CMP.contains(op) || BINARY_EQ.contains(op)
                        || BINARY_BOOL.contains(op)) {
                        arity = 2;
                    } else {
                        throw bad(where, "unknown expression operator " + repr(op) + " (this reader knows " + EXPR_FORMAT
                            + " version " + EXPR_VERSION + ")");
                    }
            }
            if (a.size() != arity) {
                throw bad(where, "operator " + repr(op) + " takes " + arity + " argument(s). Got " + a.size() + " instead.");
            }
            e.args = new ENode[arity];
            for (int i = 0; i < arity; i++) {
                e.args[i] = node(a.get(i), where, depth + 1);
            }
            return e;
        }

        static int index(Object v, String where) throws ModelException {
            if (!(v instanceof JNum) || !((JNum) v).isInt || ((JNum) v).l < 0 || ((JNum) v).l > Integer.MAX_VALUE) {
                throw bad(where, "a column index must be a non-negative integer. Got " + repr(v) + " instead.");
            }
            return (int) ((JNum) v).l;
        }

        static ModelException malformed(String where, String msg) {
            return bad(where, "malformed expression: " + msg);
        }

        static void need(boolean bool, String what, String where, EInfo... infos) throws ModelException {
            for (EInfo i : infos) {
                if (i.bool != bool) {
                    throw malformed(where, what + " needs " + (bool ? "bool" : "float64") + " operands, got " + i.dtype());
                }
            }
        }

        /** numpy broadcasting restricted as mlexport.expr defines it: returns {rank, width}. */
        static int[] broadcast(String where, EInfo... infos) throws ModelException {
            boolean r1 = false;
            boolean r2 = false;
            TreeSet<Integer> widths = new TreeSet<>();
            for (EInfo i : infos) {
                r1 |= i.rank == 1;
                r2 |= i.rank == 2;
                if (i.rank == 2) {
                    widths.add(i.width);
                }
            }
            if (!r1 && !r2) {
                return new int[] {0, -1};
            }
            if (r1 && r2) {
                throw malformed(where, "a rank-1 column meets a rank-2 matrix (numpy would broadcast it across rows)");
            }
            if (r1) {
                return new int[] {1, -1};
            }
            if (widths.size() == 1) {
                return new int[] {2, widths.first()};
            }
            if (widths.contains(-1)) {
                throw malformed(where, "cannot check the number of columns: the FunctionTransformer has no n_features_in_");
            }
            widths.remove(1);
            if (widths.size() > 1) {
                throw malformed(where, "matrices of " + widths + " columns do not broadcast");
            }
            return new int[] {2, widths.first()};
        }

        static EInfo infer(ENode e, int f, String where) throws ModelException {
            EInfo info;
            String op = e.op;
            switch (op) {
                case "input":
                    info = new EInfo(false, 2, f);
                    break;
                case "col":
                    if (f >= 0 && e.idx[0] >= f) {
                        throw malformed(where, "column " + e.idx[0] + " is out of range for " + f + " features");
                    }
                    info = new EInfo(false, 1, -1);
                    break;
                case "cols":
                    for (int i : e.idx) {
                        if (f >= 0 && i >= f) {
                            throw malformed(where, "columns " + Arrays.toString(e.idx) + " are out of range for " + f + " features");
                        }
                    }
                    info = new EInfo(false, 2, e.idx.length);
                    break;
                case "const":
                    info = new EInfo(e.constBool, 0, -1);
                    break;
                case "where": {
                    EInfo c = infer(e.args[0], f, where);
                    EInfo a = infer(e.args[1], f, where);
                    EInfo b = infer(e.args[2], f, where);
                    need(true, "where condition", where, c);
                    if (a.bool != b.bool) {
                        throw malformed(where, "where mixes " + a.dtype() + " and " + b.dtype());
                    }
                    int[] rw = broadcast(where, c, a, b);
                    info = new EInfo(a.bool, rw[0], rw[1]);
                    break;
                }
                case "clip": {
                    EInfo x = infer(e.args[0], f, where);
                    need(false, "clip", where, x);
                    if ((e.hasLo && Double.isNaN(e.lo)) || (e.hasHi && Double.isNaN(e.hi))) {
                        throw malformed(where, "clip bound nan is not a number");
                    }
                    info = new EInfo(false, x.rank, x.width);
                    break;
                }
                case "concat": {
                    EInfo[] parts = new EInfo[e.args.length];
                    long total = 0;
                    boolean unknown = false;
                    for (int i = 0; i < parts.length; i++) {
                        parts[i] = infer(e.args[i], f, where);
                        if (parts[i].bool != parts[0].bool) {
                            throw malformed(where, "concat parts have different dtypes");
                        }
                    }
                    for (EInfo p : parts) {
                        if (p.rank == 0) {
                            throw malformed(where, "concat of a scalar");
                        }
                        if (p.rank == 2 && p.width < 0) {
                            unknown = true;
                        }
                        total += p.rank == 1 ? 1 : Math.max(0, p.width);
                    }
                    if (total > MAX_WIDTH) {
                        throw malformed(where, "more than " + MAX_WIDTH + " columns");
                    }
                    info = new EInfo(parts[0].bool, 2, unknown ? -1 : (int) total);
                    break;
                }
                default:
                    if (e.args.length == 1) {
                        EInfo x = infer(e.args[0], f, where);
                        boolean bool;
                        if (UNARY_FLOAT.contains(op)) {
                            need(false, op, where, x);
                            bool = false;
                        } else if (UNARY_PRED.contains(op)) {
                            need(false, op, where, x);
                            bool = true;
                        } else if (op.equals("not")) {
                            need(true, op, where, x);
                            bool = true;
                        } else { // to_float
                            need(true, op, where, x);
                            bool = false;
                        }
                        info = new EInfo(bool, x.rank, x.width);
                    } else {
                        EInfo a = infer(e.args[0], f, where);
                        EInfo b = infer(e.args[1], f, where);
                        boolean bool;
                        if (BINARY_FLOAT.contains(op)) {
                            need(false, op, where, a, b);
                            bool = false;
                        } else if (BINARY_CMP.contains(op)) {
                            need(false, op, where, a, b);
                            bool = true;
                        } else if (BINARY_EQ.contains(op)) {
                            if (a.bool != b.bool) {
                                throw malformed(where, op + " compares " + a.dtype() + " with " + b.dtype());
                            }
                            bool = true;
                        } else {
                            need(true, op, where, a, b);
                            bool = true;
                        }
                        int[] rw = broadcast(where, a, b);
                        info = new EInfo(bool, rw[0], rw[1]);
                    }
            }
            e.info = info;
            return info;
        }
    }

    static final class Expression extends Step {
        ENode output;

        @Override
        void apply(Cells in, Cells out, Workspace ws, long row) {
            double[] x = new double[nIn];
            for (int j = 0; j < nIn; j++) {
                x[j] = numeric(in, j, row);
            }
            double[] y = output.eval(x);
            for (int j = 0; j < nOut; j++) {
                out.num[j] = ENode.at(y, j);
                out.str[j] = null;
            }
        }
    }

    // ================================================================== model nodes

    abstract static class Model {
        int n;
        int m;

        /** raw[r*m ..] for the rows x[r*n ..], r < rows. */
        abstract void raw(double[] x, int rows, double[] raw, Workspace ws);
    }

    static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    static void softmax(double[] a, int off, int k) {
        double mx = a[off];
        for (int i = 1; i < k; i++) {
            mx = Math.max(mx, a[off + i]);
        }
        double s = 0.0;
        for (int i = 0; i < k; i++) {
            double e = Math.exp(a[off + i] - mx);
            a[off + i] = e;
            s += e;
        }
        for (int i = 0; i < k; i++) {
            a[off + i] = a[off + i] / s;
        }
    }

    static final class Linear extends Model {
        double[][] coef;
        double[] intercept;

        @Override
        void raw(double[] x, int rows, double[] raw, Workspace ws) {
            for (int r = 0; r < rows; r++) {
                int xo = r * n;
                for (int i = 0; i < m; i++) {
                    double[] c = coef[i];
                    double s = 0.0;
                    for (int j = 0; j < n; j++) {
                        s += x[xo + j] * c[j];
                    }
                    raw[r * m + i] = s + intercept[i];
                }
            }
        }
    }

    static final class GaussianNb extends Model {
        double[][] theta;
        double[][] var;
        double[] logPrior;
        double[] logNorm;

        @Override
        void raw(double[] x, int rows, double[] raw, Workspace ws) {
            for (int r = 0; r < rows; r++) {
                int xo = r * n;
                for (int i = 0; i < m; i++) {
                    double[] th = theta[i];
                    double[] va = var[i];
                    double s = 0.0;
                    for (int j = 0; j < n; j++) {
                        double dlt = x[xo + j] - th[j];
                        s += (dlt * dlt) / va[j];
                    }
                    raw[r * m + i] = logPrior[i] + (logNorm[i] - 0.5 * s);
                }
            }
        }
    }

    static final int A_IDENTITY = 0;
    static final int A_LOGISTIC = 1;
    static final int A_TANH = 2;
    static final int A_RELU = 3;
    static final int A_SOFTMAX = 4;
    static final String[] ACTIVATIONS = {"identity", "logistic", "tanh", "relu", "softmax"};

    static final class Mlp extends Model {
        double[][] weights; // per layer, [in * out] row-major
        double[][] bias;
        int[] widthIn;
        int[] widthOut;
        int hidden;
        int outAct;
        int maxWidth;

        static void activate(double[] a, int k, int act) {
            switch (act) {
                case A_LOGISTIC:
                    for (int i = 0; i < k; i++) {
                        a[i] = sigmoid(a[i]);
                    }
                    break;
                case A_TANH:
                    for (int i = 0; i < k; i++) {
                        a[i] = Math.tanh(a[i]);
                    }
                    break;
                case A_RELU:
                    for (int i = 0; i < k; i++) {
                        if (!(a[i] > 0) && !Double.isNaN(a[i])) {
                            a[i] = 0.0;
                        }
                    }
                    break;
                case A_SOFTMAX:
                    if (k > 0) {
                        softmax(a, 0, k);
                    }
                    break;
                default:
                    break;
            }
        }

        @Override
        void raw(double[] x, int rows, double[] raw, Workspace ws) {
            for (int r = 0; r < rows; r++) {
                double[] cur = ws.a;
                double[] nxt = ws.b;
                System.arraycopy(x, r * n, cur, 0, n);
                for (int l = 0; l < weights.length; l++) {
                    int wi = widthIn[l];
                    int wo = widthOut[l];
                    double[] w = weights[l];
                    Arrays.fill(nxt, 0, wo, 0.0);
                    for (int j = 0; j < wi; j++) {
                        double aj = cur[j];
                        int base = j * wo;
                        for (int k = 0; k < wo; k++) {
                            nxt[k] += aj * w[base + k];
                        }
                    }
                    double[] b = bias[l];
                    for (int k = 0; k < wo; k++) {
                        nxt[k] = nxt[k] + b[k];
                    }
                    activate(nxt, wo, l < weights.length - 1 ? hidden : outAct);
                    double[] t = cur;
                    cur = nxt;
                    nxt = t;
                }
                System.arraycopy(cur, 0, raw, r * m, m);
            }
        }
    }

    static final class Tree {
        int target;
        int width;
        int[] feature;
        double[] threshold;
        int[] left;
        int[] right;
        boolean[] missingLeft;
        int[] categorySet;  // null: no categorical split
        int[] bitsets;      // 8 words per bitset
        double[] value;     // nodes x width

        int leaf(double[] x, int off, int[] known) {
            int nd = 0;
            if (categorySet == null) {
                while (true) {
                    int l = left[nd];
                    if (l < 0) {
                        return nd;
                    }
                    double v = x[off + feature[nd]];
                    if (v <= threshold[nd]) {
                        nd = l;
                    } else if (v != v) {
                        nd = missingLeft[nd] ? l : right[nd];
                    } else {
                        nd = right[nd];
                    }
                }
            }
            while (true) {
                int l = left[nd];
                if (l < 0) {
                    return nd;
                }
                double v = x[off + feature[nd]];
                boolean goLeft;
                if (v != v) {
                    goLeft = missingLeft[nd];
                } else if (categorySet[nd] >= 0) {
                    boolean valid = v >= 0 && v < 256;
                    int c = valid ? (int) v : 0;
                    if (valid && bit(bitsets, categorySet[nd] * 8, c)) {
                        goLeft = true;
                    } else if (valid && bit(known, feature[nd] * 8, c)) {
                        goLeft = false;
                    } else {
                        goLeft = missingLeft[nd];
                    }
                } else {
                    goLeft = v <= threshold[nd];
                }
                nd = goLeft ? l : right[nd];
            }
        }

        static boolean bit(int[] words, int base, int c) {
            return ((words[base + (c >>> 5)] >>> (c & 31)) & 1) != 0;
        }
    }

    static final class Ensemble extends Model {
        boolean cast;
        double[] init;
        double treeScale;
        double divide;
        Tree[] trees;
        int[] known; // n x 8 words, or null

        @Override
        void raw(double[] x, int rows, double[] raw, Workspace ws) {
            double[] xs = x;
            if (cast) {
                xs = ws.cast;
                for (int i = 0; i < rows * n; i++) {
                    xs[i] = (double) (float) x[i];
                }
            }
            for (int r = 0; r < rows; r++) {
                System.arraycopy(init, 0, raw, r * m, m);
            }
            for (Tree t : trees) {
                int w = t.width;
                int tg = t.target;
                double[] val = t.value;
                for (int r = 0; r < rows; r++) {
                    int leaf = t.leaf(xs, r * n, known);
                    int ro = r * m + tg;
                    int vo = leaf * w;
                    for (int q = 0; q < w; q++) {
                        raw[ro + q] += treeScale * val[vo + q];
                    }
                }
            }
            for (int i = 0; i < rows * m; i++) {
                raw[i] = raw[i] / divide;
            }
        }
    }

    static final String[] MODEL_COMMON = {"type", "n_features", "n_outputs"};

    Model compileModel(Object d, String where) throws ModelException {
        if (!(d instanceof Map) || !((Map<?, ?>) d).containsKey("type")) {
            throw fail(where, "must be an object with a 'type'");
        }
        Map<?, ?> raw = (Map<?, ?>) d;
        Object t = raw.get("type");
        String[] types = {"linear", "gaussian_nb", "mlp", "tree_ensemble"};
        String type = null;
        for (String s : types) {
            if (s.equals(t)) {
                type = s;
            }
        }
        if (type == null) {
            throw fail(where, "unknown model type " + repr(t) + " (this scorer knows " + String.join(", ", types) + ")");
        }
        where = where + "(" + type + ")";
        int n = width(raw.get("n_features"), where + ".n_features");
        long mm = intv(raw.get("n_outputs"), where + ".n_outputs", 1L, null);
        if (mm > MAX_WIDTH) {
            throw fail(where + ".n_outputs", "more than this scorer's limit of " + MAX_WIDTH);
        }
        int m = (int) mm;
        Model model;
        switch (type) {
            case "linear": {
                Map<String, Object> o = obj(d, where, concat(MODEL_COMMON, "coef", "intercept"), INFO);
                Linear s = new Linear();
                s.coef = matrix(o.get("coef"), where + ".coef", m, n);
                s.intercept = numbers(o.get("intercept"), where + ".intercept", m);
                model = s;
                break;
            }
            case "gaussian_nb": {
                Map<String, Object> o = obj(d, where, concat(MODEL_COMMON, "theta", "var", "log_prior", "log_norm"), INFO);
                GaussianNb s = new GaussianNb();
                s.theta = matrix(o.get("theta"), where + ".theta", m, n);
                s.var = matrix(o.get("var"), where + ".var", m, n);
                s.logPrior = numbers(o.get("log_prior"), where + ".log_prior", m);
                s.logNorm = numbers(o.get("log_norm"), where + ".log_norm", m);
                model = s;
                break;
            }
            case "mlp":
                model = compileMlp(d, where, n, m);
                break;
            default:
                model = compileEnsemble(d, where, n, m);
        }
        model.n = n;
        model.m = m;
        return model;
    }

    Model compileMlp(Object d, String where, int n, int m) throws ModelException {
        Map<String, Object> o = obj(d, where, concat(MODEL_COMMON, "hidden_activation", "output_activation", "layers"), INFO);
        Mlp s = new Mlp();
        s.hidden = Arrays.asList(ACTIVATIONS).indexOf(enumv(o.get("hidden_activation"), where + ".hidden_activation",
            "identity", "logistic", "tanh", "relu"));
        s.outAct = Arrays.asList(ACTIVATIONS).indexOf(enumv(o.get("output_activation"), where + ".output_activation",
            ACTIVATIONS));
        Object ls = o.get("layers");
        if (!(ls instanceof JArr) || ((JArr) ls).size() == 0) {
            throw fail(where, "layers must be a non-empty array");
        }
        JArr la = (JArr) ls;
        int k = la.size();
        s.weights = new double[k][];
        s.bias = new double[k][];
        s.widthIn = new int[k];
        s.widthOut = new int[k];
        int cur = n;
        s.maxWidth = Math.max(n, m);
        for (int i = 0; i < k; i++) {
            String lw = where + ".layers[" + i + "]";
            Map<String, Object> layer = obj(la.get(i), lw, new String[] {"weights", "bias"}, NONE);
            double[][] w = matrix(layer.get("weights"), lw + ".weights", cur, -1);
            if (w.length != cur) {
                throw fail(lw, "weights must have " + cur + " rows");
            }
            int out = w.length == 0 ? 0 : w[0].length;
            if (out > MAX_WIDTH) {
                throw fail(lw, "more than " + MAX_WIDTH + " units");
            }
            double[] b = numbers(layer.get("bias"), lw + ".bias", out);
            double[] flat = new double[Math.multiplyExact(cur, out)];
            for (int r = 0; r < cur; r++) {
                System.arraycopy(w[r], 0, flat, r * out, out);
            }
            s.weights[i] = flat;
            s.bias[i] = b;
            s.widthIn[i] = cur;
            s.widthOut[i] = out;
            s.maxWidth = Math.max(s.maxWidth, out);
            cur = out;
        }
        if (cur != m) {
            throw fail(where, "the last layer gives " + cur + " outputs, n_outputs is " + m);
        }
        return s;
    }

    static int[] bitset(Object x, String where) throws ModelException {
        long[] b = ints(x, where, 8);
        int[] out = new int[8];
        for (int i = 0; i < 8; i++) {
            if (b[i] < 0 || b[i] > 0xFFFFFFFFL) {
                throw fail(where, "bitset words must be unsigned 32-bit integers");
            }
            out[i] = (int) b[i];
        }
        return out;
    }

    Model compileEnsemble(Object d, String where, int n, int m) throws ModelException {
        Map<String, Object> o = obj(d, where, concat(MODEL_COMMON, "input_cast", "init", "tree_scale", "divide", "trees"),
            concat(INFO, "known_categories"));
        Ensemble s = new Ensemble();
        s.cast = enumv(o.get("input_cast"), where + ".input_cast", "none", "float32").equals("float32");
        s.init = numbers(o.get("init"), where + ".init", m);
        s.treeScale = number(o.get("tree_scale"), where + ".tree_scale");
        s.divide = number(o.get("divide"), where + ".divide");
        boolean[] isKnown = new boolean[n];
        if (o.containsKey("known_categories")) {
            JArr ka = array(o.get("known_categories"), where, "known_categories must be an array");
            s.known = new int[Math.multiplyExact(n, 8)];
            for (int i = 0; i < ka.size(); i++) {
                String kw = where + ".known_categories[" + i + "]";
                Map<String, Object> k = obj(ka.get(i), kw, new String[] {"feature", "bitset"}, NONE);
                int f = (int) intv(k.get("feature"), kw + ".feature", 0L, (long) n - 1);
                if (isKnown[f]) {
                    throw fail(kw, "feature " + f + " listed twice");
                }
                isKnown[f] = true;
                System.arraycopy(bitset(k.get("bitset"), kw + ".bitset"), 0, s.known, f * 8, 8);
            }
        }
        JArr ta = array(o.get("trees"), where, "trees must be an array");
        s.trees = new Tree[ta.size()];
        for (int i = 0; i < ta.size(); i++) {
            s.trees[i] = compileTree(ta.get(i), where + ".trees[" + i + "]", n, m, isKnown);
        }
        return s;
    }

    static Tree compileTree(Object d, String where, int nFeatures, int nOutputs, boolean[] known) throws ModelException {
        Map<String, Object> o = obj(d, where, new String[] {"target", "width", "feature", "threshold", "left", "right",
            "missing_left", "value"}, new String[] {"category_set", "bitsets"});
        long width = intv(o.get("width"), where + ".width", 1L, null);
        long target = intv(o.get("target"), where + ".target", 0L, null);
        if (width > nOutputs || target > nOutputs - width) {
            throw fail(where, "target " + target + " + width " + width + " exceeds n_outputs " + nOutputs);
        }
        long[] left = ints(o.get("left"), where + ".left", -1);
        int nn = left.length;
        if (nn == 0) {
            throw fail(where, "a tree needs at least one node");
        }
        long[] right = ints(o.get("right"), where + ".right", nn);
        long[] feature = ints(o.get("feature"), where + ".feature", nn);
        double[] threshold = numbers(o.get("threshold"), where + ".threshold", nn);
        long[] missingLeft = ints(o.get("missing_left"), where + ".missing_left", nn);
        double[] value = numbers(o.get("value"), where + ".value", nn * width);
        // Structure: leaves have left == right == -1; an internal node's children come after it (index >
        // parent, so no cycles and every walk ends) and every node but the root has exactly one parent.
        boolean[] leaf = new boolean[nn];
        for (int i = 0; i < nn; i++) {
            leaf[i] = left[i] == -1;
            if (leaf[i] != (right[i] == -1)) {
                throw fail(where, "a node has exactly one child");
            }
        }
        for (int side = 0; side < 2; side++) {
            long[] ch = side == 0 ? left : right;
            for (int i = 0; i < nn; i++) {
                if (!leaf[i] && (ch[i] <= i || ch[i] >= nn)) {
                    throw fail(where, (side == 0 ? "left" : "right") + " child index must be greater than its parent's and below " + nn);
                }
            }
        }
        int[] parents = new int[nn];
        for (int i = 0; i < nn; i++) {
            if (!leaf[i]) {
                parents[(int) left[i]]++;
                parents[(int) right[i]]++;
            }
        }
        for (int i = 0; i < nn; i++) {
            if (parents[i] != (i == 0 ? 0 : 1)) {
                throw fail(where, "every node but the root must have exactly one parent");
            }
        }
        for (int i = 0; i < nn; i++) {
            if (leaf[i] ? feature[i] != -1 : (feature[i] < 0 || feature[i] >= nFeatures)) {
                throw fail(where, "feature must be -1 for leaves and in [0, " + nFeatures + ") for splits");
            }
        }
        for (int i = 0; i < nn; i++) {
            if (missingLeft[i] != 0 && missingLeft[i] != 1) {
                throw fail(where, "missing_left must be 0 or 1");
            }
        }
        Tree t = new Tree();
        if (o.containsKey("category_set") != o.containsKey("bitsets")) {
            throw fail(where, "category_set and bitsets go together");
        }
        if (o.containsKey("category_set")) {
            long[] cat = ints(o.get("category_set"), where + ".category_set", nn);
            JArr ba = array(o.get("bitsets"), where, "bitsets must be an array");
            int nb = ba.size();
            int[] bits = new int[Math.multiplyExact(nb, 8)];
            for (int i = 0; i < nb; i++) {
                System.arraycopy(bitset(ba.get(i), where + ".bitsets[" + i + "]"), 0, bits, i * 8, 8);
            }
            for (int i = 0; i < nn; i++) {
                if ((leaf[i] && cat[i] != -1) || cat[i] < -1 || cat[i] >= nb) {
                    throw fail(where, "category_set must be -1 or a bitset index in [0, " + nb + ")");
                }
            }
            TreeSet<Long> missingKnown = new TreeSet<>();
            for (int i = 0; i < nn; i++) {
                if (cat[i] >= 0 && !known[(int) feature[i]]) {
                    missingKnown.add(feature[i]);
                }
            }
            if (!missingKnown.isEmpty()) {
                throw fail(where, "feature " + missingKnown.first() + " has categorical splits but no known_categories entry");
            }
            t.categorySet = new int[nn];
            for (int i = 0; i < nn; i++) {
                t.categorySet[i] = (int) cat[i];
            }
            t.bitsets = bits;
        }
        t.target = (int) target;
        t.width = (int) width;
        t.feature = new int[nn];
        t.left = new int[nn];
        t.right = new int[nn];
        t.missingLeft = new boolean[nn];
        for (int i = 0; i < nn; i++) {
            t.feature[i] = leaf[i] ? 0 : (int) feature[i];
            t.left[i] = (int) left[i];
            t.right[i] = (int) right[i];
            t.missingLeft[i] = missingLeft[i] == 1;
        }
        t.threshold = threshold;
        t.value = value;
        return t;
    }

    // ================================================================== output

    static final int P_NONE = -1;
    static final String[] PROBA = {"identity", "sigmoid_binary", "softmax", "sigmoid_ovr", "modified_huber",
        "complement_binary"};
    static final int P_IDENTITY = 0;
    static final int P_SIGMOID_BINARY = 1;
    static final int P_SOFTMAX = 2;
    static final int P_SIGMOID_OVR = 3;
    static final int P_MODIFIED_HUBER = 4;
    static final int P_COMPLEMENT_BINARY = 5;

    static final class Output {
        boolean classifier;
        int m;
        int k;
        // classifier
        Object[] classes;     // document values: String, Long, Double, Boolean
        Object[] labels;      // label values as the reference scorer types them
        String[] classText;   // proba_<class> header text
        String[] labelText;   // label column text
        int proba = P_NONE;
        double scale = 1.0;
        boolean fromProba;
        boolean threshold;
        double thresholdValue;
        boolean inclusive;
        // regressor
        boolean exp;
        boolean squeeze;

        /** Fills probaOut (if any) and returns the label index / fills valueOut. */
        int finish(double[] raw, int ro, double[] p, double[] probaOut, int po, double[] valueOut, int vo) {
            if (!classifier) {
                for (int j = 0; j < m; j++) {
                    double v = raw[ro + j];
                    valueOut[vo + j] = exp ? Math.exp(v) : v;
                }
                return -1;
            }
            if (proba != P_NONE) {
                computeProba(raw, ro, p);
                System.arraycopy(p, 0, probaOut, po, k);
            }
            double[] src = fromProba ? p : raw;
            int so = fromProba ? 0 : ro;
            if (threshold) {
                double v = src[so];
                return (inclusive ? v >= thresholdValue : v > thresholdValue) ? 1 : 0;
            }
            return argmax(src, so, k);
        }

        void computeProba(double[] raw, int ro, double[] p) {
            switch (proba) {
                case P_IDENTITY:
                    System.arraycopy(raw, ro, p, 0, m);
                    break;
                case P_SOFTMAX:
                    System.arraycopy(raw, ro, p, 0, m);
                    softmax(p, 0, m);
                    break;
                case P_SIGMOID_OVR:
                    for (int j = 0; j < m; j++) {
                        p[j] = sigmoid(raw[ro + j]);
                    }
                    normalise(p, m);
                    break;
                case P_SIGMOID_BINARY: {
                    double q = sigmoid(scale * raw[ro]);
                    p[0] = 1.0 - q;
                    p[1] = q;
                    break;
                }
                case P_COMPLEMENT_BINARY: {
                    double q = raw[ro];
                    p[0] = 1.0 - q;
                    p[1] = q;
                    break;
                }
                default: { // modified_huber
                    for (int j = 0; j < m; j++) {
                        double v = raw[ro + j];
                        if (v < -1.0) {
                            v = -1.0;
                        } else if (v > 1.0) {
                            v = 1.0;
                        }
                        p[j] = (v + 1.0) / 2.0;
                    }
                    if (m == 1) {
                        double q = p[0];
                        p[0] = 1.0 - q;
                        p[1] = q;
                    } else {
                        normalise(p, m);
                    }
                }
            }
        }
    }

    static void normalise(double[] p, int k) {
        double s = 0.0;
        for (int j = 0; j < k; j++) {
            s += p[j];
        }
        if (s == 0) {
            Arrays.fill(p, 0, k, 1.0);
            s = k;
        }
        for (int j = 0; j < k; j++) {
            p[j] = p[j] / s;
        }
    }

    /** First index of the maximum; a NaN counts as the maximum (numpy's argmax). */
    static int argmax(double[] a, int off, int k) {
        int best = 0;
        double bv = a[off];
        if (bv != bv) {
            return 0;
        }
        for (int i = 1; i < k; i++) {
            double v = a[off + i];
            if (v != v) {
                return i;
            }
            if (v > bv) {
                bv = v;
                best = i;
            }
        }
        return best;
    }

    static Output compileOutput(Object d, String where, int m, String task) throws ModelException {
        if (!(d instanceof Map) || !((Map<?, ?>) d).containsKey("kind")) {
            throw fail(where, "must be an object with a 'kind'");
        }
        String kind = enumv(((Map<?, ?>) d).get("kind"), where + ".kind", "classifier", "regressor");
        if (kind.equals("classifier") != task.equals("classification")) {
            throw fail(where, "kind '" + kind + "' does not match task '" + task + "'");
        }
        Output out = new Output();
        out.m = m;
        if (kind.equals("regressor")) {
            Map<String, Object> o = obj(d, where, new String[] {"kind", "transform", "squeeze"}, NONE);
            out.exp = enumv(o.get("transform"), where + ".transform", "identity", "exp").equals("exp");
            out.squeeze = bool(o.get("squeeze"), where, "squeeze must be true or false") && m == 1;
            return out;
        }
        out.classifier = true;
        Map<String, Object> o = obj(d, where, new String[] {"kind", "classes", "label"}, new String[] {"proba"});
        Object cs = o.get("classes");
        if (!(cs instanceof JArr) || ((JArr) cs).size() == 0) {
            throw fail(where, "classes must be a non-empty array");
        }
        JArr ca = (JArr) cs;
        int k = ca.size();
        out.k = k;
        out.classes = new Object[k];
        boolean allBool = true;
        boolean allInt = true;
        boolean allNum = true;
        for (int i = 0; i < k; i++) {
            Object c = ca.get(i);
            if (c instanceof JNum) {
                JNum j = (JNum) c;
                out.classes[i] = j.isInt ? (Object) j.l : (Object) j.v;
                allBool = false;
                allInt &= j.isInt;
            } else if (c instanceof String) {
                out.classes[i] = c;
                allBool = allInt = allNum = false;
            } else if (c instanceof Boolean) {
                out.classes[i] = c;
                allInt = allNum = false;
            } else {
                throw fail(where + ".classes[" + i + "]", "a class must be a string, number or boolean");
            }
        }
        out.labels = new Object[k];
        out.classText = new String[k];
        out.labelText = new String[k];
        for (int i = 0; i < k; i++) {
            Object c = out.classes[i];
            out.classText[i] = classText(c);
            if (!allBool && !allInt && allNum) {
                out.labels[i] = ((Number) c).doubleValue(); // mixed int / float: numpy makes them all floats
            } else {
                out.labels[i] = c;
            }
            out.labelText[i] = classText(out.labels[i]);
        }
        if (o.containsKey("proba")) {
            String pw = where + ".proba";
            Map<String, Object> p = obj(o.get("proba"), pw, new String[] {"transform"}, new String[] {"scale"});
            String tr = enumv(p.get("transform"), pw + ".transform", PROBA);
            out.proba = Arrays.asList(PROBA).indexOf(tr);
            if (out.proba == P_SIGMOID_BINARY) {
                if (!p.containsKey("scale")) {
                    throw fail(pw, "sigmoid_binary needs 'scale'");
                }
                out.scale = number(p.get("scale"), pw + ".scale");
            } else if (p.containsKey("scale")) {
                throw fail(pw, "'scale' is only used by sigmoid_binary");
            }
            boolean binary = out.proba == P_SIGMOID_BINARY || out.proba == P_COMPLEMENT_BINARY;
            int kOut = binary || (out.proba == P_MODIFIED_HUBER && m == 1) ? 2 : m;
            if (binary && m != 1) {
                throw fail(pw, tr + " needs a single raw column. Got " + m + " instead.");
            }
            if (kOut != k) {
                throw fail(pw, "gives " + kOut + " probabilities for " + k + " classes");
            }
        }
        String lw = where + ".label";
        Map<String, Object> lab = obj(o.get("label"), lw, new String[] {"from", "rule"}, new String[] {"threshold", "inclusive"});
        String src = enumv(lab.get("from"), lw + ".from", "raw", "proba");
        String rule = enumv(lab.get("rule"), lw + ".rule", "argmax", "threshold");
        out.fromProba = src.equals("proba");
        if (out.fromProba && out.proba == P_NONE) {
            throw fail(lw, "label from 'proba' needs a proba transform");
        }
        int width = out.fromProba ? k : m;
        if (rule.equals("threshold")) {
            obj(lab, lw, new String[] {"from", "rule", "threshold", "inclusive"}, NONE);
            out.threshold = true;
            out.thresholdValue = number(lab.get("threshold"), lw + ".threshold");
            out.inclusive = bool(lab.get("inclusive"), lw, "inclusive must be true or false");
            if (width != 1 || k != 2) {
                throw fail(lw, "the threshold rule needs one source column and two classes");
            }
        } else {
            obj(lab, lw, new String[] {"from", "rule"}, NONE);
            if (width != k) {
                throw fail(lw, "argmax over " + width + " columns for " + k + " classes");
            }
        }
        return out;
    }

    /** How mlexport's Python side prints a class value (str(): True, 3, 2.5, 'text'). */
    static String classText(Object c) {
        if (c instanceof Boolean) {
            return (Boolean) c ? "True" : "False";
        }
        if (c instanceof Double) {
            return pyRepr((Double) c);
        }
        return String.valueOf(c);
    }

    /** Python's repr() of a float: shortest round-trip digits, 'e' notation outside [1e-4, 1e16). */
    static String pyRepr(double x) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        if (x == 0) {
            return 1 / x < 0 ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(x);
        BigDecimal r = exact;
        for (int p = 1; p <= 17; p++) {
            r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (Double.parseDouble(r.toString()) == x) {
                break;
            }
        }
        r = r.stripTrailingZeros();
        String digits = r.unscaledValue().abs().toString();
        int decpt = digits.length() - r.scale(); // x = 0.digits * 10^decpt
        StringBuilder sb = new StringBuilder();
        if (x < 0) {
            sb.append('-');
        }
        if (decpt <= -4 || decpt > 16) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            int e = decpt - 1;
            sb.append('e').append(e < 0 ? '-' : '+');
            String es = Integer.toString(Math.abs(e));
            if (es.length() < 2) {
                sb.append('0');
            }
            sb.append(es);
        } else if (decpt <= 0) {
            sb.append("0.");
            for (int i = 0; i < -decpt; i++) {
                sb.append('0');
            }
            sb.append(digits);
        } else if (decpt >= digits.length()) {
            sb.append(digits);
            for (int i = digits.length(); i < decpt; i++) {
                sb.append('0');
            }
            sb.append(".0");
        } else {
            sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return sb.toString();
    }

    // ================================================================== batch scoring

    /** Where rows come from: fills the input cells of one row. */
    interface RowSource {
        void fill(int row, Cells cells);
    }

    final class ObjectRows implements RowSource {
        final Object[][] rows;

        ObjectRows(Object[][] rows) {
            this.rows = rows;
        }

        @Override
        public void fill(int r, Cells c) {
            Object[] row = rows[r];
            if (row == null || row.length != inputs.length) {
                throw new InputException("row " + r + ": expected " + inputs.length + " cells (one per input column). Got "
                    + (row == null ? "null" : Integer.toString(row.length)) + " instead.", r);
            }
            for (int j = 0; j < inputs.length; j++) {
                Input in = inputs[j];
                Object v = row[j];
                c.str[j] = null;
                c.num[j] = Double.NaN;
                if (!in.used || v == null) {
                    continue;
                }
                if (v instanceof Number && !(v instanceof Boolean)) {
                    c.num[j] = ((Number) v).doubleValue();
                } else if (v instanceof String && in.kind == Kind.STRING) {
                    c.str[j] = (String) v;
                } else if (v instanceof String) {
                    throw new InputException("column '" + in.name + "' must be numeric. Got " + repr(v) + " in row " + r
                        + " instead.", r);
                } else {
                    throw new InputException("column '" + in.name + "' row " + r + ": " + v.getClass().getSimpleName()
                        + " is neither a string nor a number.", r);
                }
            }
        }
    }

    /** Scores rows [from, to) of src into out. */
    private void scoreRange(RowSource src, int from, int to, Outputs out, Workspace ws) {
        int n = model.n;
        int m = model.m;
        Cells input = ws.slots[((Pipeline) steps).inSlot];
        Cells fin = ws.slots[((Pipeline) steps).outSlot];
        for (int start = from; start < to; start += ws.block) {
            int rows = Math.min(ws.block, to - start);
            for (int r = 0; r < rows; r++) {
                int row = start + r;
                src.fill(row, input);
                steps.apply(input, fin, ws, row);
                int xo = r * n;
                for (int j = 0; j < n; j++) {
                    if (fin.str[j] != null) {
                        throw stringReachedNumeric("model input", fin.str[j], row);
                    }
                    ws.x[xo + j] = fin.num[j];
                }
            }
            model.raw(ws.x, rows, ws.raw, ws);
            for (int r = 0; r < rows; r++) {
                int row = start + r;
                int li = output.finish(ws.raw, r * m, ws.proba, out.proba, row * output.k, out.value, row * m);
                if (out.labelIndex != null) {
                    out.labelIndex[row] = li;
                }
                if (out.decision != null) {
                    System.arraycopy(ws.raw, r * m, out.decision, row * m, m);
                }
            }
        }
    }

    /** Scores every row of src, splitting the rows over up to {@code threads} threads. */
    void score(RowSource src, Outputs out, int threads) {
        int n = out.rows;
        int tasks = (int) Math.max(1, Math.min(threads, (n + 4L * BLOCK - 1) / (4L * BLOCK)));
        if (tasks <= 1) {
            scoreRange(src, 0, n, out, new Workspace());
            return;
        }
        AtomicReference<RuntimeException> firstError = new AtomicReference<>();
        AtomicReference<Error> fatal = new AtomicReference<>();
        Thread[] workers = new Thread[tasks - 1];
        int per = (n + tasks - 1) / tasks;
        for (int t = 0; t < tasks; t++) {
            final int a = Math.min(n, t * per);
            final int b = Math.min(n, a + per);
            Runnable job = () -> {
                try {
                    scoreRange(src, a, b, out, new Workspace());
                } catch (InputException e) {
                    firstError.accumulateAndGet(e, (x, y) -> x == null || row(y) < row(x) ? y : x);
                } catch (RuntimeException e) {
                    firstError.compareAndSet(null, e);
                } catch (Error e) {
                    fatal.compareAndSet(null, e);
                }
            };
            if (t == tasks - 1) {
                job.run();
            } else {
                workers[t] = new Thread(job, "mlexport-json-" + t);
                workers[t].setDaemon(true);
                workers[t].start();
            }
        }
        for (Thread w : workers) {
            boolean interrupted = false;
            while (true) {
                try {
                    w.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (fatal.get() != null) {
            throw fatal.get();
        }
        if (firstError.get() != null) {
            throw firstError.get();
        }
    }

    static long row(RuntimeException e) {
        return e instanceof InputException ? ((InputException) e).row : Long.MAX_VALUE;
    }

    // ================================================================== CSV (RFC 4180)

    static final class CsvReader {
        private final Reader in;
        private final char[] buf = new char[1 << 16];
        private int pos;
        private int len;
        private boolean eof;
        long line = 1;          // physical line where the current record starts
        private long nextLine = 1;
        private final StringBuilder sb = new StringBuilder();

        CsvReader(Reader in) {
            this.in = in;
        }

        private int peek() throws IOException {
            if (pos >= len) {
                if (eof) {
                    return -1;
                }
                len = in.read(buf, 0, buf.length);
                pos = 0;
                if (len <= 0) {
                    len = 0;
                    eof = true;
                    return -1;
                }
            }
            return buf[pos];
        }

        /**
         * Reads one record into fields / quoted; returns false at end of input. Blank lines are skipped.
         */
        boolean next(List<String> fields, List<Boolean> quoted) throws IOException {
            fields.clear();
            quoted.clear();
            while (true) { // skip blank lines
                int c = peek();
                if (c == -1) {
                    return false;
                }
                if (c == '\n') {
                    pos++;
                    nextLine++;
                } else if (c == '\r') {
                    pos++;
                    nextLine++;
                    if (peek() == '\n') {
                        pos++;
                    }
                } else {
                    break;
                }
            }
            line = nextLine;
            while (true) {
                sb.setLength(0);
                boolean q = false;
                int c = peek();
                if (c == '"') {
                    q = true;
                    pos++;
                    while (true) {
                        c = peek();
                        if (c == -1) {
                            throw new InputException("line " + line + ": a quoted field is not closed before the end of the file");
                        }
                        pos++;
                        if (c == '"') {
                            if (peek() == '"') {
                                pos++;
                                sb.append('"');
                            } else {
                                break;
                            }
                        } else {
                            if (c == '\n') {
                                nextLine++;
                            }
                            sb.append((char) c);
                        }
                    }
                    c = peek();
                    if (c != ',' && c != '\n' && c != '\r' && c != -1) {
                        throw new InputException("line " + nextLine + ": unexpected character after a closing quote");
                    }
                } else {
                    int start = pos;
                    while (pos < len) {
                        char ch = buf[pos];
                        if (ch == ',' || ch == '\n' || ch == '\r') {
                            break;
                        }
                        pos++;
                    }
                    if (pos < len) { // the whole field is in the buffer
                        fields.add(new String(buf, start, pos - start));
                        quoted.add(false);
                        if (endField()) {
                            return true;
                        }
                        continue;
                    }
                    sb.append(buf, start, pos - start);
                    while (true) {
                        c = peek();
                        if (c == -1 || c == ',' || c == '\n' || c == '\r') {
                            break;
                        }
                        sb.append((char) c);
                        pos++;
                    }
                }
                fields.add(sb.toString());
                quoted.add(q);
                if (endField()) {
                    return true;
                }
            }
        }

        /** After a field: consumes the separator; true at the end of the record. */
        private boolean endField() throws IOException {
            int c = peek();
            if (c == ',') {
                pos++;
                return false;
            }
            if (c == '\r') {
                pos++;
                if (peek() == '\n') {
                    pos++;
                }
            } else if (c == '\n') {
                pos++;
            }
            nextLine++;
            return true;
        }
    }

    static String csvField(String s) {
        boolean needs = s.isEmpty();
        for (int i = 0; i < s.length() && !needs; i++) {
            char c = s.charAt(i);
            needs = c == ',' || c == '"' || c == '\n' || c == '\r';
        }
        return needs ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }

    /** Parses a number field: decimal notation, or nan / inf / infinity (any case, optional sign). */
    static double parseNumber(String s) {
        if (s.isEmpty()) {
            return Double.NaN;
        }
        if (isDecimal(s)) {
            return DecimalParser.parse(s);
        }
        String t = s.trim();
        if (t.isEmpty()) {
            return Double.NaN;
        }
        int i = t.charAt(0) == '+' || t.charAt(0) == '-' ? 1 : 0;
        String body = t.substring(i).toLowerCase(java.util.Locale.ROOT);
        if (body.equals("nan")) {
            return Double.NaN;
        }
        if (body.equals("inf") || body.equals("infinity")) {
            return t.charAt(0) == '-' ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        if (isDecimal(t)) {
            return DecimalParser.parse(t);
        }
        throw new NumberFormatException();
    }

    /**
     * The double nearest a decimal string already checked by {@link #isDecimal}, exactly as
     * {@link Double#parseDouble} rounds it, several times faster on the 16- and 17-digit
     * numbers Python writes: Java 17's parser takes its big-integer path for those (70% of a
     * CSV job's time in a profile). Clinger's exact fast path when the significand and the
     * power of ten are both exact doubles; else the Eisel-Lemire algorithm (one 128-bit product
     * with a truncated power of five, as in Go's strconv and the fast_float library), which
     * either proves its rounding or gives up. Given up, too many digits, subnormal results and
     * exponents beyond the table go to {@link Double#parseDouble}. A test compares both parsers
     * bit for bit on millions of inputs.
     */
    static final class DecimalParser {
        private static final int MIN_Q = -342;
        private static final int MAX_Q = 308;
        /** Per power of ten q in [MIN_Q, MAX_Q]: 5^q as a 128-bit truncated, normalized fraction (high, low). */
        private static final long[] POW5 = powersOfFive();
        private static final double[] EXACT_POW10 = {
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

        private DecimalParser() {
        }

        private static long[] powersOfFive() {
            long[] table = new long[2 * (MAX_Q - MIN_Q + 1)];
            BigInteger five = BigInteger.valueOf(5);
            for (int q = MIN_Q; q <= MAX_Q; q++) {
                BigInteger c;
                if (q >= 0) {
                    c = five.pow(q);
                    int bits = c.bitLength();
                    c = bits <= 128 ? c.shiftLeft(128 - bits) : c.shiftRight(bits - 128);
                } else {
                    BigInteger p = five.pow(-q);
                    int z = p.bitLength();
                    int b = q >= -27 ? z + 127 : 2 * z + 128;
                    c = BigInteger.ONE.shiftLeft(b).divide(p).add(BigInteger.ONE);
                    int bits = c.bitLength();
                    if (bits > 128) {
                        c = c.shiftRight(bits - 128);
                    }
                }
                table[2 * (q - MIN_Q)] = c.shiftRight(64).longValue();
                table[2 * (q - MIN_Q) + 1] = c.longValue();
            }
            return table;
        }

        /** The high 64 bits of the unsigned 128-bit product a * b. */
        private static long unsignedMultiplyHigh(long a, long b) {
            return Math.multiplyHigh(a, b) + ((a >> 63) & b) + ((b >> 63) & a);
        }

        static double parse(String s) {
            int n = s.length();
            int i = 0;
            boolean negative = false;
            char c0 = s.charAt(0);
            if (c0 == '+' || c0 == '-') {
                negative = c0 == '-';
                i = 1;
            }
            long w = 0;
            int digits = 0;        // significant digits in w
            int q = 0;             // decimal exponent of w
            boolean point = false;
            for (; i < n; i++) {
                char c = s.charAt(i);
                if (c == '.') {
                    point = true;
                    continue;
                }
                if (c < '0' || c > '9') {
                    break;
                }
                if (w == 0 && c == '0') {
                    if (point) {
                        q--;
                    }
                    continue;
                }
                if (++digits > 18) {
                    return Double.parseDouble(s);
                }
                w = 10 * w + (c - '0');
                if (point) {
                    q--;
                }
            }
            if (i < n) { // exponent: isDecimal has checked its form
                i++;
                boolean negativeExponent = false;
                if (s.charAt(i) == '+' || s.charAt(i) == '-') {
                    negativeExponent = s.charAt(i) == '-';
                    i++;
                }
                int e = 0;
                for (; i < n; i++) {
                    if (e > 100_000) {
                        return Double.parseDouble(s);
                    }
                    e = 10 * e + (s.charAt(i) - '0');
                }
                q += negativeExponent ? -e : e;
            }
            if (w == 0) {
                return negative ? -0.0 : 0.0;
            }
            double value = fromParts(w, q);
            if (Double.isNaN(value)) {
                return Double.parseDouble(s);
            }
            return negative ? -value : value;
        }

        /** w * 10^q for 0 < w < 10^18 rounded to nearest even, or NaN where this parser gives up. */
        static double fromParts(long w, int q) {
            if (q >= -22 && q <= 22 && w <= (1L << 53)) {
                return q >= 0 ? w * EXACT_POW10[q] : w / EXACT_POW10[-q];
            }
            if (q < MIN_Q || q > MAX_Q) {
                return Double.NaN;
            }
            int lz = Long.numberOfLeadingZeros(w);
            w <<= lz;
            int index = 2 * (q - MIN_Q);
            long high = unsignedMultiplyHigh(w, POW5[index]);
            long low = w * POW5[index];
            long precisionMask = -1L >>> 55;
            if ((high & precisionMask) == precisionMask) { // the truncated power may matter: add the next 64 bits
                long second = unsignedMultiplyHigh(w, POW5[index + 1]);
                long sum = low + second;
                if (Long.compareUnsigned(second, sum) > 0) {
                    high++;
                }
                low = sum;
            }
            if (low == -1L && (q < -27 || q > 55)) {
                return Double.NaN; // cannot tell the rounding from this product
            }
            int upper = (int) (high >>> 63);
            long mantissa = high >>> (upper + 9);
            int power2 = (int) (((152170L + 65536L) * q) >> 16) + 63 + upper - lz + 1023;
            if (power2 <= 0) {
                return Double.NaN; // subnormal
            }
            if (Long.compareUnsigned(low, 1) <= 0 && q >= -4 && q <= 23 && (mantissa & 3) == 1
                    && (mantissa << (upper + 9)) == high) {
                mantissa &= ~1L; // exactly halfway: round to even, down
            }
            mantissa += mantissa & 1;
            mantissa >>>= 1;
            if (mantissa >= (2L << 52)) {
                mantissa = 1L << 52;
                power2++;
            }
            mantissa &= ~(1L << 52);
            if (power2 >= 0x7FF) {
                return Double.POSITIVE_INFINITY;
            }
            return Double.longBitsToDouble(mantissa | ((long) power2 << 52));
        }
    }

    /** [+-] digits [. digits] [(e|E) [+-] digits], at least one mantissa digit. */
    static boolean isDecimal(String t) {
        int n = t.length();
        int i = 0;
        if (n > 0 && (t.charAt(0) == '+' || t.charAt(0) == '-')) {
            i = 1;
        }
        boolean digits = false;
        while (i < n && t.charAt(i) >= '0' && t.charAt(i) <= '9') {
            i++;
            digits = true;
        }
        if (i < n && t.charAt(i) == '.') {
            i++;
            while (i < n && t.charAt(i) >= '0' && t.charAt(i) <= '9') {
                i++;
                digits = true;
            }
        }
        if (!digits) {
            return false;
        }
        if (i < n && (t.charAt(i) == 'e' || t.charAt(i) == 'E')) {
            i++;
            if (i < n && (t.charAt(i) == '+' || t.charAt(i) == '-')) {
                i++;
            }
            boolean exp = false;
            while (i < n && t.charAt(i) >= '0' && t.charAt(i) <= '9') {
                i++;
                exp = true;
            }
            if (!exp) {
                return false;
            }
        }
        return i == n;
    }

    /** Double.toString, checked to read back to the same double (Java 17's is not always the shortest). */
    static String formatDouble(double v) {
        String s = Double.toString(v);
        if (Double.isNaN(v) || Double.isInfinite(v) || Double.parseDouble(s) == v) {
            return s;
        }
        return new BigDecimal(v).round(new MathContext(17, RoundingMode.HALF_EVEN)).toString();
    }

    /** Columns of one chunk of CSV rows, in document input order. */
    final class CsvChunk implements RowSource {
        final double[][] num;
        final String[][] str;
        int rows;

        CsvChunk(int capacity) {
            num = new double[inputs.length][];
            str = new String[inputs.length][];
            for (int j = 0; j < inputs.length; j++) {
                if (inputs[j].used) {
                    if (inputs[j].kind == Kind.NUMBER) {
                        num[j] = new double[capacity];
                    } else {
                        str[j] = new String[capacity];
                    }
                }
            }
        }

        @Override
        public void fill(int r, Cells c) {
            for (int j = 0; j < inputs.length; j++) {
                if (num[j] != null) {
                    c.num[j] = num[j][r];
                    c.str[j] = null;
                } else {
                    c.str[j] = str[j] != null ? str[j][r] : null;
                    c.num[j] = Double.NaN;
                }
            }
        }
    }

    static final class Timing {
        long read;
        long score;
        long write;
        long rows;
    }

    /** Scores a whole CSV stream into a CSV stream (see the class comment). Rows stream through in chunks. */
    public void scoreCsv(Reader in, Writer out, int threads) throws IOException {
        scoreCsv(in, out, threads, new Timing(), false);
    }

    /** With {@code features}: writes the model's input features f0..f(n-1) instead of predictions. */
    void scoreCsv(Reader in, Writer out, int threads, Timing timing, boolean features) throws IOException {
        CsvReader csv = new CsvReader(in);
        List<String> fields = new ArrayList<>();
        List<Boolean> quoted = new ArrayList<>();
        long t0 = System.nanoTime();
        if (!csv.next(fields, quoted)) {
            throw new InputException("the input is empty; expected a header line with column names");
        }
        if (!fields.isEmpty() && fields.get(0).startsWith("\uFEFF")) {
            fields.set(0, fields.get(0).substring(1));
        }
        int width = fields.size();
        Map<String, Integer> header = new HashMap<>();
        for (int i = 0; i < fields.size(); i++) {
            header.putIfAbsent(fields.get(i), i);
        }
        int[] at = new int[inputs.length];
        List<String> absent = new ArrayList<>();
        for (int j = 0; j < inputs.length; j++) {
            Integer i = header.get(inputs[j].name);
            at[j] = i == null ? -1 : i;
            if (i == null && inputs[j].used) {
                absent.add(inputs[j].name);
            }
        }
        if (!absent.isEmpty()) {
            throw new InputException("input is missing column(s) " + String.join(", ", absent) + ".");
        }
        List<String> cols = outputColumns();
        if (features) {
            cols = new ArrayList<>();
            for (int j = 0; j < model.n; j++) {
                cols.add("f" + j);
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cols.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(csvField(cols.get(i)));
        }
        sb.append('\n');
        out.write(sb.toString());
        int chunkRows = 1 << 15;
        CsvChunk chunk = new CsvChunk(chunkRows);
        long done = 0;
        boolean more = true;
        timing.read += System.nanoTime() - t0;
        while (more) {
            t0 = System.nanoTime();
            chunk.rows = 0;
            while (chunk.rows < chunkRows) {
                if (!csv.next(fields, quoted)) {
                    more = false;
                    break;
                }
                if (fields.size() != width) {
                    throw new InputException("line " + csv.line + ": expected " + width + " fields like the header. Got "
                        + fields.size() + " instead.");
                }
                int r = chunk.rows;
                for (int j = 0; j < inputs.length; j++) {
                    if (!inputs[j].used) {
                        continue;
                    }
                    String f = fields.get(at[j]);
                    if (chunk.num[j] != null) {
                        try {
                            chunk.num[j][r] = parseNumber(f);
                        } catch (NumberFormatException e) {
                            throw new InputException("line " + csv.line + ": column '" + inputs[j].name + "' must be numeric. Got "
                                + repr(f) + " instead.");
                        }
                    } else {
                        chunk.str[j][r] = f.isEmpty() && !quoted.get(at[j]) ? null : f;
                    }
                }
                chunk.rows++;
            }
            timing.read += System.nanoTime() - t0;
            if (chunk.rows == 0) {
                break;
            }
            t0 = System.nanoTime();
            Outputs res = new Outputs(this, chunk.rows);
            final long offset = done;
            try {
                if (features) {
                    writeFeatures(chunk, out, sb);
                    done += chunk.rows;
                    continue;
                }
                score(chunk, res, threads);
            } catch (InputException e) {
                String msg = e.getMessage();
                if (e.row >= 0) {
                    msg = msg.replace("(row " + e.row + ")", "(data row " + (offset + e.row + 1) + ")")
                        .replace("in row " + e.row + ",", "in data row " + (offset + e.row + 1) + ",");
                }
                throw new InputException(msg);
            }
            timing.score += System.nanoTime() - t0;
            t0 = System.nanoTime();
            writeRows(res, out, sb);
            timing.write += System.nanoTime() - t0;
            done += chunk.rows;
        }
        t0 = System.nanoTime();
        out.flush();
        timing.write += System.nanoTime() - t0;
        timing.rows = done;
    }

    private void writeFeatures(CsvChunk chunk, Writer out, StringBuilder sb) throws IOException {
        Workspace ws = new Workspace();
        Cells input = ws.slots[((Pipeline) steps).inSlot];
        Cells fin = ws.slots[((Pipeline) steps).outSlot];
        for (int r = 0; r < chunk.rows; r++) {
            chunk.fill(r, input);
            double[] x = featureRow(input, fin, ws, r);
            sb.setLength(0);
            for (int j = 0; j < x.length; j++) {
                sb.append(j == 0 ? "" : ",").append(formatDouble(x[j]));
            }
            sb.append('\n');
            out.write(sb.toString());
        }
    }

    private void writeRows(Outputs res, Writer out, StringBuilder sb) throws IOException {
        Output o = output;
        for (int r = 0; r < res.rows; r++) {
            sb.setLength(0);
            if (o.classifier) {
                sb.append(csvField(o.labelText[res.labelIndex[r]]));
                if (res.proba != null) {
                    for (int j = 0; j < o.k; j++) {
                        sb.append(',').append(formatDouble(res.proba[r * o.k + j]));
                    }
                }
                if (res.decision != null) {
                    for (int j = 0; j < o.m; j++) {
                        sb.append(',').append(formatDouble(res.decision[r * o.m + j]));
                    }
                }
            } else {
                for (int j = 0; j < o.m; j++) {
                    if (j > 0) {
                        sb.append(',');
                    }
                    sb.append(formatDouble(res.value[r * o.m + j]));
                }
            }
            sb.append('\n');
            out.write(sb.toString());
        }
    }

    static Reader utf8Reader(InputStream s) {
        return new BufferedReader(new InputStreamReader(s, StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)), 1 << 16);
    }

    // ================================================================== command line

    static final String USAGE = "usage: java -cp gson.jar:DIR dev.mlexport.MlexportJsonScorer [--timing] [--threads N] "
        + "[--features] MODEL.json INPUT.csv OUTPUT.csv | --check MODEL.json";

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (ModelException | InputException e) {
            code = die(e.getMessage(), 2);
        } catch (NoSuchFileException | FileNotFoundException e) {
            code = die("no such file: " + e.getMessage(), 2);
        } catch (CharacterCodingException e) {
            code = die("the input is not UTF-8 text", 2);
        } catch (IOException e) {
            code = die("I/O error: " + e.getMessage(), 2);
        } catch (OutOfMemoryError e) {
            code = die("out of memory: the document or the data is too large for the Java heap (raise -Xmx)", 2);
        } catch (StackOverflowError e) {
            code = die("the document is nested too deeply", 2);
        } catch (Throwable e) {
            code = die("internal error: " + e, 1);
        }
        System.exit(code);
    }

    static int die(String msg, int code) {
        System.err.println("mlexport-json: " + oneLine(msg));
        System.err.flush();
        return code;
    }

    static int run(String[] args) throws IOException, ModelException {
        boolean timingWanted = false;
        boolean featuresWanted = false;
        boolean check = false;
        int threads = Runtime.getRuntime().availableProcessors();
        List<String> pos = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--timing")) {
                timingWanted = true;
            } else if (a.equals("--check")) {
                check = true;
            } else if (a.equals("--features")) {
                featuresWanted = true;
            } else if (a.equals("--threads") && i + 1 < args.length) {
                try {
                    threads = Math.max(1, Integer.parseInt(args[++i]));
                } catch (NumberFormatException e) {
                    return die(USAGE, 2);
                }
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println(USAGE);
                return 0;
            } else if (a.startsWith("--")) {
                return die("unknown option " + a + "; " + USAGE, 2);
            } else {
                pos.add(a);
            }
        }
        if (check ? pos.size() != 1 : pos.size() != 3) {
            return die(USAGE, 2);
        }
        long t0 = System.nanoTime();
        MlexportJsonScorer scorer = load(Paths.get(pos.get(0)));
        long loadNs = System.nanoTime() - t0;
        if (check) {
            System.out.println("ok: format_version " + scorer.formatVersion + ", " + scorer.task + ", " + scorer.inputs.length
                + " inputs, outputs " + String.join(",", scorer.outputColumns()));
            return 0;
        }
        Timing timing = new Timing();
        String inName = pos.get(1);
        String outName = pos.get(2);
        Path outPath = outName.equals("-") ? null : Paths.get(outName);
        Path tmp = null;
        try (Reader in = inName.equals("-") ? utf8Reader(System.in) : utf8Reader(Files.newInputStream(Paths.get(inName)))) {
            OutputStream os;
            if (outPath == null) {
                os = System.out;
            } else {
                // write next to the target and rename: a failed run leaves no half-written output
                Path dir = outPath.toAbsolutePath().getParent();
                tmp = Files.createTempFile(dir, "." + outPath.getFileName() + ".", ".tmp");
                os = Files.newOutputStream(tmp);
            }
            Writer w = new BufferedWriter(new OutputStreamWriter(os, StandardCharsets.UTF_8), 1 << 16);
            try {
                scorer.scoreCsv(in, w, threads, timing, featuresWanted);
            } finally {
                if (outPath != null) {
                    w.close();
                } else {
                    w.flush();
                }
            }
            if (tmp != null) {
                Files.move(tmp, outPath, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
            }
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
        if (timingWanted) {
            System.err.printf(java.util.Locale.ROOT, "mlexport-json timing: rows=%d load_ms=%.1f read_ms=%.1f score_ms=%.1f write_ms=%.1f%n",
                timing.rows, loadNs / 1e6, timing.read / 1e6, timing.score / 1e6, timing.write / 1e6);
        }
        return 0;
    }
}
