/*
 * mlexport's batch scorer for PMML files, run inside the JVM that mlexport
 * starts through JPype (see mlexport/jvm.py, which compiles this file once
 * with javac into a cache directory).
 *
 * Python hands over whole columns at once (double[] for numbers, String[] for
 * strings, column-major, NaN / null = missing) and gets whole result arrays
 * back: one JNI crossing per batch instead of one per row or per cell.
 *
 * Only JPMML-Evaluator's public API is used (the jars of the jpmml_evaluator
 * Python package are enough to compile it).
 *
 * A file can also be transpiled (JPMML-Transpiler, shipped in the same jars):
 * its models translated to Java, compiled in memory (needs a JDK) and archived
 * in a jar; an evaluator loaded back from that jar runs the compiled code
 * instead of walking the PMML object model for every row, and loads without
 * parsing XML. See {@link #transpile} and {@link #loadTranspiled}.
 */
package mlexport.pmml;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import com.sun.codemodel.JCodeModel;
import org.dmg.pmml.DataType;
import org.dmg.pmml.MiningFunction;
import org.dmg.pmml.Model;
import org.dmg.pmml.ModelVerification;
import org.dmg.pmml.PMML;
import org.dmg.pmml.ResultFeature;
import org.dmg.pmml.mining.MiningModel;
import org.dmg.pmml.mining.Segment;
import org.dmg.pmml.mining.Segmentation;
import org.dmg.pmml.tree.TreeModel;
import org.jpmml.evaluator.Computable;
import org.jpmml.evaluator.EvaluationException;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.HasModel;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.LoadingModelEvaluatorBuilder;
import org.jpmml.evaluator.ModelEvaluatorBuilder;
import org.jpmml.evaluator.OutputField;
import org.jpmml.evaluator.TargetField;
import org.jpmml.model.PMMLUtil;
import org.jpmml.transpiler.TranspilerUtil;

public final class PmmlBatchScorer {

	/** Results of one batch. */
	public static final class Batch {
		/** Classification: index of the predicted class in {@link #categories()}, -1 when no prediction. */
		public final int[] labels;
		/** Row-major n x width: class probabilities (classification; width 0 without them) or the predicted value (regression). */
		public final double[] values;
		public final int width;
		/** First failing row (-1 when all rows scored) and its error message. */
		public final int errorRow;
		public final String error;

		Batch(int[] labels, double[] values, int width, int errorRow, String error){
			this.labels = labels;
			this.values = values;
			this.width = width;
			this.errorRow = errorRow;
			this.error = error;
		}
	}

	private final Evaluator evaluator;
	private final TargetField target;
	private final boolean classification;
	private final List<Object> categories;
	private final Map<Object, Integer> categoryIndex = new HashMap<>();
	private final Map<String, DataType> inputTypes = new HashMap<>();
	/** Per category: the final OutputField holding its probability (null when there is none). */
	private final String[] probabilityFields;

	/** The loader of the transpiled classes (null when the evaluator interprets the PMML object model). */
	private URLClassLoader classLoader = null;

	private boolean probabilities = true;
	private boolean parallel = true;
	private int chunkRows = 2048;

	public PmmlBatchScorer(String path) throws Exception {
		this(path, true);
	}

	public PmmlBatchScorer(String path, boolean verify) throws Exception {
		this(PmmlLoader.load(new File(path)).build(), verify);
	}

	private PmmlBatchScorer(Evaluator evaluator, boolean verify){
		this.evaluator = evaluator;

		// Replays the ModelVerification rows embedded in the file (if any).
		if(verify){
			try {
				this.evaluator.verify();
			} catch(EvaluationException e){
				throw new IllegalStateException("its embedded verification rows do not score as scikit-learn did: " + e.getMessage(), e);
			}
		}

		for(InputField inputField : this.evaluator.getInputFields()){
			this.inputTypes.put(inputField.getName(), inputField.getDataType());
		}

		List<TargetField> targets = this.evaluator.getTargetFields();
		if(targets.size() != 1){
			throw new IllegalArgumentException("Expected exactly one target field, got " + targets.size());
		}
		this.target = targets.get(0);

		MiningFunction function = this.evaluator.getMiningFunction();
		this.classification = (function == MiningFunction.CLASSIFICATION);

		List<Object> cats = this.classification ? this.target.getCategories() : null;
		this.categories = (cats != null) ? new ArrayList<>(cats) : new ArrayList<>();
		for(int i = 0; i < this.categories.size(); i++){
			this.categoryIndex.put(this.categories.get(i), i);
		}

		// sklearn2pmml declares one "probability(<class>)" OutputField per class; in a model chain
		// (gradient boosting) they sit on the last segment, which getOutputFields() reports too.
		this.probabilityFields = new String[this.categories.size()];
		for(OutputField outputField : this.evaluator.getOutputFields()){
			org.dmg.pmml.OutputField field = outputField.getField();
			if(!outputField.isFinalResult() || field.getResultFeature() != ResultFeature.PROBABILITY || field.getValue() == null){
				continue;
			}
			int index = indexOf(field.getValue());
			if(index >= 0 && this.probabilityFields[index] == null){
				this.probabilityFields[index] = outputField.getName();
			}
		}
	}

	/**
	 * Translates the PMML file at path into Java, compiles it in memory and writes the classes
	 * to a jar at jarPath, for {@link #loadTranspiled(String)}; then checks that the compiled
	 * code scores the file's ModelVerification rows as the file says (throws otherwise).
	 *
	 * The verification rows are left out of the translation: as Java they are one constructor,
	 * over the JVM's 64 KB method limit once there are a few hundred rows. Compiler messages
	 * are kept out of stdout and stderr; a failed compilation throws with them in its message.
	 */
	public static void transpile(String path, String jarPath, String className) throws Exception {
		LoadingModelEvaluatorBuilder builder = PmmlLoader.load(new File(path));

		PMML pmml = builder.getPMML();
		ModelVerification verification = builder.getModel().getModelVerification();

		for(Model model : pmml.getModels()){
			model.setModelVerification(null);
		}

		JCodeModel codeModel = TranspilerUtil.translate(pmml, className);

		ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
		try(PrintStream ps = new PrintStream(diagnostics, true, StandardCharsets.UTF_8)){
			TranspilerUtil.compile(codeModel, ps);
		} catch(IOException | RuntimeException e){
			String text = diagnostics.toString(StandardCharsets.UTF_8).trim();
			throw new IOException("compilation failed" + (text.isEmpty() ? "" : (": " + text)), e);
		}

		try(OutputStream os = new FileOutputStream(jarPath)){
			TranspilerUtil.archive(codeModel, os);
		}

		loadTranspiled(jarPath, verification).close();
	}

	/** A scorer over the compiled classes in a jar written by {@link #transpile(String, String, String)}. */
	public static PmmlBatchScorer loadTranspiled(String jarPath) throws Exception {
		return loadTranspiled(jarPath, null);
	}

	static
	private PmmlBatchScorer loadTranspiled(String jarPath, ModelVerification verification) throws Exception {
		addCompilerDirective();

		URL url = new File(jarPath).toURI().toURL();
		URLClassLoader classLoader = new URLClassLoader(new URL[]{url}, PmmlBatchScorer.class.getClassLoader());

		try {
			PMML pmml = PMMLUtil.load(classLoader);
			if(pmml == null){
				throw new IllegalArgumentException("No transpiled PMML class in " + jarPath);
			}

			Evaluator evaluator = new ModelEvaluatorBuilder(pmml).build();
			if(verification != null){
				((HasModel<?>)evaluator).getModel().setModelVerification(verification);
			}

			PmmlBatchScorer scorer = new PmmlBatchScorer(evaluator, verification != null);
			scorer.classLoader = classLoader;

			return scorer;
		} catch(Exception | Error e){
			classLoader.close();

			throw e;
		}
	}

	/** Package of the transpiled classes (of the class name mlexport passes to {@link #transpile(String, String, String)}). */
	public static final String TRANSPILED_PACKAGE = "mlexport.transpiled";

	private static boolean compilerDirectiveAdded = false;

	/**
	 * Compiles the transpiled classes with C1 only (HotSpot's Compiler.directives_add, as jcmd
	 * does). Their tree methods are long chains of float comparisons that C2 compiles late and
	 * then runs slower than C1: on a 100-tree forest, scoring 50,000 rows took 2.8 to 3.8 s once
	 * warm with C2 and 1.4 to 1.6 s with C1 alone, and a cold scorer spent less time interpreted.
	 * Elsewhere (no HotSpot diagnostic command) the JVM's default policy stays.
	 */
	static
	private synchronized void addCompilerDirective(){

		if(compilerDirectiveAdded){
			return;
		}

		compilerDirectiveAdded = true;

		try {
			Path file = Files.createTempFile("mlexport-jit-", ".json");

			try {
				Files.write(file, ("[{match: \"" + TRANSPILED_PACKAGE.replace('.', '/') + "/*.*\", c2: {Exclude: true}}]").getBytes(StandardCharsets.US_ASCII));

				MBeanServer server = ManagementFactory.getPlatformMBeanServer();
				server.invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd", new Object[]{new String[]{file.toString()}}, new String[]{String[].class.getName()});
			} finally {
				Files.deleteIfExists(file);
			}
		} catch(Exception | LinkageError e){
			// Not HotSpot, or no management support: nothing to tune
		}
	}

	/** True when the model is a decision tree or an ensemble of them: what transpiling speeds up most. */
	public boolean hasTrees(){
		return (this.evaluator instanceof HasModel) && hasTrees(((HasModel<?>)this.evaluator).getModel());
	}

	static
	private boolean hasTrees(Model model){

		if(model instanceof TreeModel){
			return true;
		} // End if

		if(model instanceof MiningModel){
			Segmentation segmentation = ((MiningModel)model).getSegmentation();

			if(segmentation != null){

				for(Segment segment : segmentation.getSegments()){

					if(hasTrees(segment.getModel())){
						return true;
					}
				}
			}
		}

		return false;
	}

	/** True when this scorer runs transpiled (compiled) model code. */
	public boolean isTranspiled(){
		return this.classLoader != null;
	}

	/** Releases the transpiled classes' jar (the scorer must not be used afterwards). */
	public void close() throws IOException {
		URLClassLoader classLoader = this.classLoader;
		this.classLoader = null;

		if(classLoader != null){
			classLoader.close();
		}
	}

	private int indexOf(Object value){
		Integer index = this.categoryIndex.get(value);
		if(index != null){
			return index;
		}
		String text = String.valueOf(value);
		for(int i = 0; i < this.categories.size(); i++){
			if(text.equals(String.valueOf(this.categories.get(i)))){
				return i;
			}
		}
		return -1;
	}

	/** True when the file declares a probability output for every class. */
	public boolean hasProbabilities(){
		if(!this.classification || this.probabilityFields.length == 0){
			return false;
		}
		for(String name : this.probabilityFields){
			if(name == null){
				return false;
			}
		}
		return true;
	}

	public boolean isClassification(){
		return this.classification;
	}

	/** Class labels in the target DataField's order, as strings. */
	public String[] categories(){
		String[] out = new String[this.categories.size()];
		for(int i = 0; i < out.length; i++){
			out[i] = String.valueOf(this.categories.get(i));
		}
		return out;
	}

	/** Names of the fields the model reads. */
	public String[] inputNames(){
		return this.inputTypes.keySet().toArray(new String[0]);
	}

	public void setProbabilities(boolean probabilities){
		this.probabilities = probabilities;
	}

	public void setParallel(boolean parallel){
		this.parallel = parallel;
	}

	/**
	 * Scores n rows.
	 *
	 * @param numNames names of the numeric columns
	 * @param num column-major numbers: num[c * n + r]; NaN = missing
	 * @param strNames names of the string columns
	 * @param str column-major strings: str[c * n + r]; null = missing
	 */
	public Batch score(String[] numNames, double[] num, String[] strNames, String[] str, int n){
		return score(numNames, num, strNames, str, n, this.probabilities, this.parallel);
	}

	/**
	 * Scores n rows with this call's options, whatever the setters say: what a scorer shared by
	 * several users (mlexport keeps loaded scorers for reuse) calls, so that no user's options
	 * reach another's batch. Calls may run concurrently: all per-call state is local.
	 */
	public Batch score(String[] numNames, double[] num, String[] strNames, String[] str, int n, boolean probabilities, boolean parallel){
		int numCols = (numNames != null) ? numNames.length : 0;
		int strCols = (strNames != null) ? strNames.length : 0;

		// Integer-typed fields get Integer arguments (JPMML refuses 3.0 for an integer field in some places)
		boolean[] integral = new boolean[numCols];
		for(int c = 0; c < numCols; c++){
			DataType dataType = this.inputTypes.get(numNames[c]);
			integral[c] = (dataType == DataType.INTEGER);
		}

		int width = this.classification ? ((probabilities && hasProbabilities()) ? this.categories.size() : 0) : 1;
		int[] labels = this.classification ? new int[n] : null;
		double[] values = new double[n * width];

		AtomicReference<int[]> firstError = new AtomicReference<>(null);
		String[] errorMessage = new String[1];

		int chunks = Math.max(1, (n + this.chunkRows - 1) / this.chunkRows);
		IntStream stream = IntStream.range(0, chunks);
		if(parallel && chunks > 1){
			stream = stream.parallel();
		}

		stream.forEach(chunk -> {
			int begin = chunk * this.chunkRows;
			int end = Math.min(n, begin + this.chunkRows);

			Map<String, Object> arguments = new HashMap<>(2 * (numCols + strCols) + 1);

			for(int r = begin; r < end; r++){
				for(int c = 0; c < numCols; c++){
					double v = num[c * n + r];
					Object value;
					if(Double.isNaN(v)){
						value = null;
					} else if(integral[c] && v == Math.rint(v) && Math.abs(v) <= Integer.MAX_VALUE){
						value = Integer.valueOf((int)v);
					} else {
						value = v;
					}
					arguments.put(numNames[c], value);
				}
				for(int c = 0; c < strCols; c++){
					arguments.put(strNames[c], str[c * n + r]);
				}

				try {
					Map<String, ?> results = this.evaluator.evaluate(arguments);
					Object targetValue = results.get(this.target.getName());

					if(this.classification){
						labels[r] = labelIndex(targetValue);
						if(width > 0){
							fillProbabilities(results, values, r * width);
						}
					} else {
						Object decoded = EvaluatorUtil.decode(targetValue);
						values[r] = (decoded instanceof Number) ? ((Number)decoded).doubleValue() : Double.NaN;
					}
				} catch(Exception e){
					synchronized(errorMessage){
						int[] prev = firstError.get();
						if(prev == null || r < prev[0]){
							firstError.set(new int[]{r});
							String message = e.getMessage();
							errorMessage[0] = e.getClass().getSimpleName() + ((message != null) ? (": " + message) : "");
						}
					}
					return;
				}
			}
		});

		int[] err = firstError.get();
		return new Batch(labels, values, width, (err != null) ? err[0] : -1, errorMessage[0]);
	}

	private int labelIndex(Object targetValue){
		if(targetValue == null){
			return -1;
		}
		Object label = (targetValue instanceof Computable) ? ((Computable)targetValue).getResult() : targetValue;
		return (label != null) ? indexOf(label) : -1;
	}

	private void fillProbabilities(Map<String, ?> results, double[] values, int offset){
		for(int i = 0; i < this.probabilityFields.length; i++){
			Object probability = EvaluatorUtil.decode(results.get(this.probabilityFields[i]));
			values[offset + i] = (probability instanceof Number) ? ((Number)probability).doubleValue() : Double.NaN;
		}
	}
}
