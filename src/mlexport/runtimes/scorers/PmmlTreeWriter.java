/*
 * mlexport's writer for the trees of a large forest, run inside the JVM that
 * mlexport starts through JPype (see mlexport/jvm.py, which compiles this file
 * once with javac).
 *
 * JPMML-SkLearn turns every node of every tree into PMML objects, walks them
 * with a dozen visitors and marshals them: for a 500-tree forest (200,000
 * nodes) that is about 2.5 s of the export. What it writes for one tree is a
 * fixed function of that tree's arrays and of how each feature reaches the trees
 * (a field, or a field's category), so mlexport lets JPMML-SkLearn convert the
 * pipeline with a few of the trees (the "template": trees that together use
 * every feature any tree uses) and writes all the trees itself, as JPMML-SkLearn
 * writes them (pruned, compacted, sklearn's missing-value branch as the last
 * child):
 *
 * 1. each template tree is rendered with a placeholder for every field name (and
 *    for what depends on child order: Node attributes, the mining schema) and
 *    matched against JPMML-SkLearn's text of the same tree, which gives the
 *    field name of every feature; a split the converter wrote as
 *    field == category marks a one-hot (binary) feature, and the tree is
 *    rendered again with it;
 * 2. each template tree is rendered again with those names and must equal
 *    JPMML-SkLearn's text byte for byte (tree model attributes, mining schema,
 *    predicates, numbers, labels); any difference and nothing is written: the
 *    caller converts the whole forest with JPMML-SkLearn instead (a template
 *    tree that carries its own LocalTransformations is copied, see VERBATIM);
 * 3. the document is written with JPMML-SkLearn's segments replaced by all the
 *    trees, infinite split thresholds written as the largest finite double
 *    (PmmlFileWriter's rewrite, see there).
 *
 * Numbers are formatted by the adapters JPMML's marshaller uses (ObjectAdapter,
 * NumberAdapter), after the two conversions JPMML-SkLearn applies, restated
 * here because its jars are not on the helpers' compile class path: split
 * thresholds go through FloatUtil.floor (the largest float not above the
 * double), leaf counts through ValueUtil.narrow (whole numbers as integers).
 * The template check exercises every one of these paths.
 */
package mlexport.pmml;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import com.google.common.math.DoubleMath;
import org.dmg.pmml.adapters.NumberAdapter;
import org.dmg.pmml.adapters.ObjectAdapter;

public final class PmmlTreeWriter {

	private static final ObjectAdapter OBJECTS = new ObjectAdapter();

	private static final NumberAdapter NUMBERS = new NumberAdapter();

	/** Placeholder delimiters (never in XML text): a predicate's field, a tree's whole mining schema. */
	private static final char MARK = '\u0000';

	private static final char SCHEMA_MARK = '\u0001';

	/**
	 * Placeholder for the attributes of a Node start tag, not compared while learning: they
	 * depend on which child comes first, which depends on what is being learned (a binary
	 * feature's split puts its right child first). The split's predicate, on the next line,
	 * then tells which kind of feature it is.
	 */
	private static final char NODE_MARK = '\u0002';

	private static final String EQUAL = "\" operator=\"equal\" value=\"";

	/** The trees of a forest, as scikit-learn's arrays, concatenated tree after tree. */
	public static final class Forest {
		final int[] offsets;
		final int[] left;
		final int[] right;
		final int[] feature;
		final double[] threshold;
		final double[] values;
		final int width;
		final byte[] missingLeft;
		final boolean classification;
		final boolean defaultChild;

		/**
		 * @param offsets tree t holds nodes offsets[t] .. offsets[t + 1] - 1; child indexes are local to the tree
		 * @param values row-major node x width (class proportions, or the value of a regression tree)
		 * @param missingLeft per node, 1 when sklearn sends a missing value to the left child (null: no missing-value support)
		 * @param defaultChild whether the converter keeps sklearn's missing-value branch (allow_missing)
		 */
		public Forest(int[] offsets, int[] left, int[] right, int[] feature, double[] threshold, double[] values, int width, byte[] missingLeft, boolean classification, boolean defaultChild){
			this.offsets = offsets;
			this.left = left;
			this.right = right;
			this.feature = feature;
			this.threshold = threshold;
			this.values = values;
			this.width = width;
			this.missingLeft = missingLeft;
			this.classification = classification;
			this.defaultChild = defaultChild && (missingLeft != null);
		}

		int trees(){
			return this.offsets.length - 1;
		}
	}

	/** The outcome of {@link #write}: whether the file was written, why not, and how many infinite splits were made portable. */
	public static final class Result {
		public final boolean written;
		public final String reason;
		public final int portableSplits;

		Result(boolean written, String reason, int portableSplits){
			this.written = written;
			this.reason = reason;
			this.portableSplits = portableSplits;
		}
	}

	private final Forest forest;

	/** Field name (as escaped XML attribute text) per feature index, as split predicates name it; null while unknown. */
	private final String[] names;

	/**
	 * Per feature index, the category of a one-hot (binary) feature as escaped attribute text;
	 * null for a continuous feature. The converter splits a binary feature as
	 * field == category (the right child, first) and otherwise (the left child).
	 */
	private final String[] categories;

	/** Class labels (as escaped XML attribute text), in the order of the value columns. */
	private String[] labels = null;

	private String treeModelTag = null;

	/** Whether infinite thresholds are written as {@link #LARGEST} (and counted) rather than as the converter's "INF". */
	private boolean portable = false;

	private final AtomicInteger portableSplits = new AtomicInteger();

	/** Trees per parallel rendering task. */
	private static final int BLOCK = 16;

	private static final String LARGEST = "1.7976931348623157E308";

	private static final String[] INFINITE_SPLITS = {"operator=\"lessOrEqual\" value=\"INF\"", "operator=\"greaterThan\" value=\"INF\""};

	private PmmlTreeWriter(Forest forest, int features){
		this.forest = forest;
		this.names = new String[features];
		this.categories = new String[features];
	}

	/**
	 * Writes document (JPMML-SkLearn's conversion, pretty-printed, of the pipeline whose
	 * forest holds the trees template[0], template[1], ... of forest, in that order) to
	 * path with all of forest's trees in their place.
	 */
	public static Result write(String document, String path, Forest forest, int[] template, int features) throws Exception {
		PmmlTreeWriter writer = new PmmlTreeWriter(forest, features);

		int open = document.indexOf("<Segmentation ");
		int close = document.indexOf("</Segmentation>");
		if(open < 0 || close < 0 || document.indexOf("<Segmentation ", open + 1) >= 0){
			return new Result(false, "the converted document does not have exactly one Segmentation", 0);
		}

		int bodyStart = document.indexOf('\n', open) + 1;
		int bodyEnd = document.lastIndexOf('\n', close) + 1;
		String indent = document.substring(document.lastIndexOf('\n', open) + 1, open) + "\t";

		List<String> segments = splitSegments(document.substring(bodyStart, bodyEnd), indent);
		if(segments.size() != template.length){
			return new Result(false, "expected " + template.length + " converted segments, found " + segments.size(), 0);
		}

		String reason = writer.learn(segments, template, indent);
		if(reason != null){
			return new Result(false, reason, 0);
		}

		// JPMML-SkLearn's "INF" thresholds as the largest finite double (PmmlFileWriter does the same for whole documents)
		writer.portable = true;

		String head = document.substring(0, bodyStart);
		String tail = document.substring(bodyEnd);

		try(OutputStream out = new BufferedOutputStream(new FileOutputStream(path), 1 << 16)){
			out.write(writer.portable(head).getBytes(StandardCharsets.UTF_8));

			// blocks of trees rendered in parallel, written in order
			int trees = forest.trees();
			int blocks = (trees + BLOCK - 1) / BLOCK;

			byte[][] rendered = IntStream.range(0, blocks).parallel()
				.mapToObj(b -> {
					StringBuilder sb = new StringBuilder(1 << 16);

					for(int t = b * BLOCK; t < Math.min(trees, (b + 1) * BLOCK); t++){
						writer.segment(sb, t, t + 1, indent, false);
					}

					return sb.toString().getBytes(StandardCharsets.UTF_8);
				})
				.toArray(byte[][]::new);

			for(byte[] block : rendered){
				out.write(block);
			}

			out.write(writer.portable(tail).getBytes(StandardCharsets.UTF_8));
		}

		return new Result(true, null, writer.portableSplits.get());
	}

	static
	private List<String> splitSegments(String body, String indent){
		List<String> result = new ArrayList<>();

		String start = indent + "<Segment ";

		int at = body.startsWith(start) ? 0 : -1;
		while(at >= 0){
			int next = body.indexOf("\n" + start, at);

			result.add(next < 0 ? body.substring(at) : body.substring(at, next + 1));

			at = (next < 0 ? -1 : next + 1);
		}

		return result;
	}

	/** Learns field names, class labels and the tree model tag from the converter's segments; null when every template tree then renders exactly as converted. */
	private String learn(List<String> segments, int[] template, String indent){
		String first = segments.get(0);

		this.treeModelTag = line(first, indent + "\t<TreeModel");
		if(this.treeModelTag == null){
			return "the first converted segment holds no TreeModel";
		} // End if

		if(this.forest.classification){
			List<String> labels = new ArrayList<>();

			int at = first.indexOf("<ScoreDistribution value=\"");
			while(at >= 0 && labels.size() < this.forest.width){
				int from = at + "<ScoreDistribution value=\"".length();

				labels.add(first.substring(from, first.indexOf('"', from)));

				at = first.indexOf("<ScoreDistribution value=\"", from);
			}

			if(labels.size() != this.forest.width){
				return "expected " + this.forest.width + " class labels in the converted trees, found " + labels.size();
			}

			this.labels = labels.toArray(new String[0]);
		}

		StringBuilder sb = new StringBuilder();

		for(int k = 0; k < template.length; k++){
			String mismatch;

			// each retry has learned that one more feature is binary: at most one per feature
			int tries = 0;
			do {
				sb.setLength(0);

				segment(sb, template[k], k + 1, indent, true);

				mismatch = match(sb, segments.get(k));
			} while(mismatch == RETRY && ++tries <= this.names.length);

			if(mismatch == VERBATIM){
				this.verbatim.put(template[k], segments.get(k));

				continue;
			} // End if

			if(mismatch != null){
				return "template tree " + template[k] + ": " + (mismatch == RETRY ? "too many binary features" : mismatch);
			}
		}

		// every other tree must split only on features whose field is known by now
		for(int t = 0; t < this.forest.trees(); t++){

			if(this.verbatim.containsKey(t)){
				continue;
			}

			boolean[] used = new boolean[this.names.length];
			markUsed(this.forest.offsets[t], 0, used);

			for(int f = 0; f < used.length; f++){

				if(used[f] && this.names[f] == null){
					return "no template tree tells the field of feature " + f + " (used by tree " + t + ")";
				}
			}
		}

		for(int k = 0; k < template.length; k++){

			if(this.verbatim.containsKey(template[k])){
				continue;
			}

			sb.setLength(0);

			segment(sb, template[k], k + 1, indent, false);

			String expected = segments.get(k);
			if(!expected.contentEquals(sb)){
				return "template tree " + template[k] + " differs from the converter's at line " + (firstDifference(expected, sb.toString()) + 1);
			}
		}

		return null;
	}

	/** What {@link #match} returns when it has just learned that a feature is binary: render the tree again. */
	private static final String RETRY = new String("retry");

	/**
	 * What {@link #match} returns for a template tree that carries its own LocalTransformations:
	 * the converter moves a derived field that only one tree reads into that tree. With each
	 * feature in two template trees (or in the only tree that uses it), that tree is the only
	 * one in the whole forest to read the field, so the converter's text of it is what the
	 * converter writes for it in the whole document: it is copied, renumbered.
	 */
	private static final String VERBATIM = new String("verbatim");

	/** Template trees copied from the converter's text (tree index to its segment, numbered as in the template). */
	private final Map<Integer, String> verbatim = new HashMap<>();

	/**
	 * Reads the field names at the predicate placeholders of ours (MARK feature MARK) off the
	 * converter's text, and skips the converter's mining schema at SCHEMA_MARK; null when the
	 * rest is equal. A split rendered as continuous where the converter wrote field == category
	 * makes that feature binary ({@link #RETRY}).
	 */
	private String match(CharSequence ours, String theirs){
		int i = 0;
		int j = 0;
		int previous = -1; // the feature whose field name ours has just placed

		while(true){
			int mark = nextMark(ours, i);
			int literal = (mark < 0 ? ours.length() : mark) - i;

			int same = matching(ours, i, theirs, j, literal);

			if(same < literal){

				if(previous >= 0 && this.categories[previous] == null && theirs.startsWith(EQUAL, j)){
					int from = j + EQUAL.length();
					int quote = theirs.indexOf('"', from);

					if(quote > from){
						this.categories[previous] = theirs.substring(from, quote);

						return RETRY;
					}
				}

				return "differs from the converter's at line " + (lineOf(theirs, j + same) + 1);
			}

			i += literal;
			j += literal;
			previous = -1;

			if(mark < 0){
				return (j == theirs.length()) ? null : "the converter's tree is longer";
			}

			char kind = ours.charAt(mark);

			if(kind == SCHEMA_MARK){
				int close = theirs.indexOf("</MiningSchema>\n", j);
				int empty = theirs.indexOf("<MiningSchema/>\n", j);
				int next = theirs.indexOf('\n', j);

				if(empty >= 0 && empty < next){
					j = empty + "<MiningSchema/>\n".length();
				} else

				if(close >= 0){
					j = close + "</MiningSchema>\n".length();
				} else

				{
					return "the converter's tree has no mining schema";
				}

				int text = j;
				while(text < theirs.length() && theirs.charAt(text) == '\t'){
					text++;
				}

				if(theirs.startsWith("<LocalTransformations>", text)){
					return VERBATIM;
				}

				i = mark + 1;

				continue;
			}

			if(kind == NODE_MARK){
				int gt = theirs.indexOf('>', j);
				if(gt < 0){
					return "unexpected end of the converter's tree";
				}

				i = mark + 1;
				j = gt;

				continue;
			}

			int quote = theirs.indexOf('"', j);
			if(quote < 0){
				return "unexpected end of the converter's tree";
			}

			int end = indexOf(ours, kind, mark + 1);
			int feature = Integer.parseInt(ours.subSequence(mark + 1, end).toString());

			String name = theirs.substring(j, quote);
			if(this.names[feature] == null){
				this.names[feature] = name;
			} else

			if(!this.names[feature].equals(name)){
				return "feature " + feature + " is both " + this.names[feature] + " and " + name;
			}

			i = end + 1;
			j = quote;
			previous = feature;
		}
	}

	static
	private int nextMark(CharSequence text, int from){

		for(int i = from; i < text.length(); i++){
			char c = text.charAt(i);

			if(c == MARK || c == SCHEMA_MARK || c == NODE_MARK){
				return i;
			}
		}

		return -1;
	}

	/** How many of the length characters of ours from i equal theirs from j. */
	static
	private int matching(CharSequence ours, int i, String theirs, int j, int length){
		int k = 0;

		while(k < length && j + k < theirs.length() && ours.charAt(i + k) == theirs.charAt(j + k)){
			k++;
		}

		return k;
	}

	/** Appends tree t as segment id, at the Segment's indentation; placeholders instead of field names when marks. */
	private void segment(StringBuilder sb, int t, int id, String indent, boolean marks){
		String copied = this.verbatim.get(t);

		if(copied != null){
			int line = copied.indexOf('\n');

			sb.append(indent).append("<Segment id=\"").append(id).append("\">");
			sb.append(this.portable ? portable(copied.substring(line)) : copied.substring(line));

			return;
		}
		Forest forest = this.forest;
		int base = forest.offsets[t];
		int count = forest.offsets[t + 1] - base;

		sb.append(indent).append("<Segment id=\"").append(id).append("\">\n");
		sb.append(indent).append("\t<True/>\n");
		sb.append(this.treeModelTag).append('\n');

		// The fields the tree splits on (pruned splits aside), in feature order
		boolean[] used = new boolean[this.names.length];
		boolean any = markUsed(base, 0, used);

		String schema = indent + "\t\t";
		if(marks){
			// learning: the names are not known yet, the converter's mining schema is skipped
			sb.append(schema).append(SCHEMA_MARK);
		} else

		if(!any){
			sb.append(schema).append("<MiningSchema/>\n");
		} else

		{
			sb.append(schema).append("<MiningSchema>\n");

			// the distinct fields of the tree's splits, in feature order (a categorical field splits as several binary features)
			List<String> seen = new ArrayList<>();
			for(int f = 0; f < used.length; f++){

				if(!used[f] || seen.contains(this.names[f])){
					continue;
				}

				seen.add(this.names[f]);

				sb.append(schema).append("\t<MiningField name=\"").append(this.names[f]).append("\"/>\n");
			}

			sb.append(schema).append("</MiningSchema>\n");
		}

		node(sb, base, 0, "<True/>", indent + "\t\t", marks);

		sb.append(indent).append("\t</TreeModel>\n");
		sb.append(indent).append("</Segment>\n");
	}

	private String name(int feature, boolean marks){
		return marks ? (MARK + Integer.toString(feature) + MARK) : this.names[feature];
	}

	private boolean isLeaf(int base, int n){
		return this.forest.feature[base + n] < 0 || (!this.forest.classification && isPrunedAt(base, n));
	}

	/**
	 * JPMML's pruner (regression only, bottom-up): a split whose two children score the
	 * same as the split itself becomes a leaf (Objects.equals on Double: same bits).
	 */
	private boolean isPrunedAt(int base, int n){
		Forest forest = this.forest;

		if(forest.feature[base + n] < 0){
			return false;
		}

		long own = Double.doubleToLongBits(forest.values[base + n]);
		int l = forest.left[base + n];
		int r = forest.right[base + n];

		// the children are pruned first; a pruned child keeps its own score
		return Double.doubleToLongBits(forest.values[base + l]) == own && Double.doubleToLongBits(forest.values[base + r]) == own;
	}

	/** Marks the features of the splits reachable from node n; whether there was one. */
	private boolean markUsed(int base, int n, boolean[] used){

		if(isLeaf(base, n)){
			return false;
		}

		used[this.forest.feature[base + n]] = true;

		markUsed(base, this.forest.left[base + n], used);
		markUsed(base, this.forest.right[base + n], used);

		return true;
	}

	private void node(StringBuilder sb, int base, int n, String predicate, String indent, boolean marks){
		Forest forest = this.forest;

		if(isLeaf(base, n)){
			leaf(sb, base, n, predicate, indent, marks);

			return;
		} // End if

		// a regression split scores as the last leaf of its chain of last children
		start(sb, indent, marks, forest.classification ? "" : (" score=\"" + (marks ? "" : score(base, lastOfChain(base, n))) + "\""));

		sb.append(indent).append('\t').append(predicate).append('\n');

		children(sb, base, n, indent + "\t", marks);

		sb.append(indent).append("</Node>\n");
	}

	/** The children of split n, with the second child (the missing-value branch when defaulted) spliced in unless it is a leaf. */
	private void children(StringBuilder sb, int base, int n, String indent, boolean marks){
		Forest forest = this.forest;

		boolean swap = rightFirst(base, n);

		int first = swap ? forest.right[base + n] : forest.left[base + n];
		int second = swap ? forest.left[base + n] : forest.right[base + n];

		node(sb, base, first, predicate(base, n, swap ? "greaterThan" : "lessOrEqual", marks), indent, marks);

		if(isLeaf(base, second)){

			if(forest.classification){
				leaf(sb, base, second, "<True/>", indent, marks);
			}

			// regression: a True leaf becomes the parent's score (noTrueChildStrategy="returnLastPrediction")
		} else

		{
			children(sb, base, second, indent, marks);
		}
	}

	/** The node whose value becomes split n's score once the True chain below it is spliced (regression). */
	private int lastOfChain(int base, int n){
		Forest forest = this.forest;

		while(!isLeaf(base, n)){
			n = rightFirst(base, n) ? forest.left[base + n] : forest.right[base + n];
		}

		return n;
	}

	/**
	 * Whether the converter's compactor puts split n's right child first (with the split's
	 * predicate) and its left child last: always for a binary feature (field == category);
	 * for a continuous one, when the left child is the missing-value default.
	 */
	private boolean rightFirst(int base, int n){
		Forest forest = this.forest;

		return this.categories[forest.feature[base + n]] != null || (forest.defaultChild && forest.missingLeft[base + n] == 1);
	}

	/** The child the converter names as split n's defaultChild (binary features: always the left one). */
	private int defaultChildOf(int base, int n){
		Forest forest = this.forest;

		boolean left = this.categories[forest.feature[base + n]] != null || forest.missingLeft[base + n] == 1;

		return left ? forest.left[base + n] : forest.right[base + n];
	}

	private String predicate(int base, int n, String operator, boolean marks){
		int feature = this.forest.feature[base + n];

		if(this.categories[feature] != null){
			return "<SimplePredicate field=\"" + name(feature, marks) + EQUAL + this.categories[feature] + "\"/>";
		}

		double threshold = this.forest.threshold[base + n];

		String value;

		if(threshold == Double.POSITIVE_INFINITY){

			if(this.portable){
				this.portableSplits.incrementAndGet();
			}

			value = this.portable ? LARGEST : "INF";
		} else

		{
			value = OBJECTS.marshal(floor(threshold));
		}

		return "<SimplePredicate field=\"" + name(this.forest.feature[base + n], marks) + "\" operator=\"" + operator + "\" value=\"" + value + "\"/>";
	}

	private String score(int base, int n){
		return OBJECTS.marshal(this.forest.values[base + n]);
	}

	/** A Node start tag: with its attributes, or (learning) with a placeholder for them. */
	static
	private void start(StringBuilder sb, String indent, boolean marks, String attributes){
		sb.append(indent).append("<Node");

		if(marks){
			sb.append(NODE_MARK);
		} else

		{
			sb.append(attributes);
		}

		sb.append(">\n");
	}

	private void leaf(StringBuilder sb, int base, int n, String predicate, String indent, boolean marks){
		Forest forest = this.forest;

		if(!forest.classification){
			String attributes = " score=\"" + score(base, n) + "\"";

			// a split the pruner made a leaf keeps the converter's defaultChild (the id of a child no longer written)
			if(forest.feature[base + n] >= 0 && forest.defaultChild){
				attributes += " defaultChild=\"" + defaultChildOf(base, n) + "\"";
			}

			start(sb, indent, marks, attributes);
			sb.append(indent).append('\t').append(predicate).append('\n');
			sb.append(indent).append("</Node>\n");

			return;
		}

		int width = forest.width;
		int row = (base + n) * width;

		double total = 0d;
		int max = -1;
		for(int c = 0; c < width; c++){
			double value = forest.values[row + c];

			total += narrow(value);

			if(max < 0 || Double.compare(value, forest.values[row + max]) > 0){
				max = c;
			}
		}

		start(sb, indent, marks, " score=\"" + this.labels[max] + "\" recordCount=\"" + print(total) + "\"");
		sb.append(indent).append('\t').append(predicate).append('\n');

		for(int c = 0; c < width; c++){
			sb.append(indent).append("\t<ScoreDistribution value=\"").append(this.labels[c]).append("\" recordCount=\"").append(print(forest.values[row + c])).append("\"/>\n");
		}

		sb.append(indent).append("</Node>\n");
	}

	/** text with its infinite split thresholds as {@link #LARGEST}, counted. */
	private String portable(String text){

		for(String pattern : INFINITE_SPLITS){
			String replacement = pattern.replace("\"INF\"", "\"" + LARGEST + "\"");

			int at = text.indexOf(pattern);
			while(at >= 0){
				this.portableSplits.incrementAndGet();

				at = text.indexOf(pattern, at + pattern.length());
			}

			text = text.replace(pattern, replacement);
		}

		return text;
	}

	/** org.jpmml.sklearn.FloatUtil#floor: the largest float that is not greater than value. */
	static
	float floor(double value){
		float result = (float)value;

		if((double)result > value){
			result = Math.nextDown(result);
		}

		return result;
	}

	/** The value of org.jpmml.converter.ValueUtil#narrow(double): whole numbers become integers. */
	static
	double narrow(double value){
		return DoubleMath.isMathematicalInteger(value) ? (double)(long)value : value;
	}

	/** How NumberAdapter marshals ValueUtil#narrow(value): integer text for whole numbers. */
	static
	String print(double value){
		return DoubleMath.isMathematicalInteger(value) ? Long.toString((long)value) : NUMBERS.marshal(value);
	}

	static
	private String line(String text, String prefix){
		int at = text.indexOf("\n" + prefix);
		if(at < 0){
			return null;
		}

		return text.substring(at + 1, text.indexOf('\n', at + 1));
	}

	static
	private int indexOf(CharSequence text, char c, int from){

		for(int i = from; i < text.length(); i++){

			if(text.charAt(i) == c){
				return i;
			}
		}

		return -1;
	}

	static
	private int lineOf(String text, int at){
		int lines = 0;

		for(int i = 0; i < at && i < text.length(); i++){

			if(text.charAt(i) == '\n'){
				lines++;
			}
		}

		return lines;
	}

	static
	private int firstDifference(String expected, String actual){
		int i = 0;

		while(i < expected.length() && i < actual.length() && expected.charAt(i) == actual.charAt(i)){
			i++;
		}

		return lineOf(expected, i);
	}
}
