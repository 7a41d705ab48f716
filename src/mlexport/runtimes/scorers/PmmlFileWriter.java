/*
 * mlexport's PMML file writer, run inside the JVM that mlexport starts through
 * JPype (see mlexport/jvm.py, which compiles this file once with javac).
 *
 * The converter's document is marshalled straight into the output file, and on
 * the way its tree splits "x <= +INF" / "x > +INF" (value="INF", how
 * JPMML-SkLearn writes scikit-learn's missing-value splits) get the largest
 * finite double instead, which PMML4S reads correctly: the same rewrite as
 * mlexport.exporters.pmml.portable_infinity, without handing a 30 MB document
 * to Python and back.
 */
package mlexport.pmml;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

import org.dmg.pmml.PMML;
import org.jpmml.model.metro.MetroJAXBSerializer;

public final class PmmlFileWriter {

	private PmmlFileWriter(){
	}

	/**
	 * Writes pmml (pretty-printed, as MetroJAXBSerializer#serializePretty) to path.
	 *
	 * @return how many infinite split thresholds were written as the largest finite double
	 */
	public static int write(PMML pmml, String path) throws Exception {
		PortableInfinityStream stream = new PortableInfinityStream(new BufferedOutputStream(new FileOutputStream(path), 1 << 16));

		try(OutputStream os = stream){
			new MetroJAXBSerializer().serializePretty(pmml, os);
		}

		return stream.replaced();
	}

	/**
	 * Replaces INF in {@code operator="lessOrEqual" value="INF"} and
	 * {@code operator="greaterThan" value="INF"} while passing bytes through; a
	 * pattern cut between two writes is held back until the next one.
	 */
	public static final class PortableInfinityStream extends FilterOutputStream {

		private static final byte[][] PATTERNS = {
			ascii("operator=\"lessOrEqual\" value=\"INF\""),
			ascii("operator=\"greaterThan\" value=\"INF\"")
		};

		private static final int LONGEST = Math.max(PATTERNS[0].length, PATTERNS[1].length);

		private static final byte[] FINITE = ascii("1.7976931348623157E308\"");

		private final byte[] buffer = new byte[1 << 16];

		private int length = 0;

		private int replaced = 0;


		public PortableInfinityStream(OutputStream out){
			super(out);
		}

		/** How many thresholds were rewritten so far. */
		public int replaced(){
			return this.replaced;
		}

		@Override
		public void write(int b) throws IOException {

			if(this.length == this.buffer.length){
				drain(false);
			}

			this.buffer[this.length++] = (byte)b;
		}

		@Override
		public void write(byte[] bytes, int offset, int count) throws IOException {

			while(count > 0){

				if(this.length == this.buffer.length){
					drain(false);
				}

				int n = Math.min(count, this.buffer.length - this.length);

				System.arraycopy(bytes, offset, this.buffer, this.length, n);

				this.length += n;
				offset += n;
				count -= n;
			}
		}

		@Override
		public void flush() throws IOException {
			drain(false);

			super.flush();
		}

		@Override
		public void close() throws IOException {

			try {
				drain(true);
			} finally {
				super.close();
			}
		}

		/**
		 * Writes out the buffered bytes, rewriting every complete pattern; unless last,
		 * keeps the tail that may be the start of a pattern completed by the next write.
		 */
		private void drain(boolean last) throws IOException {
			byte[] buffer = this.buffer;
			int length = this.length;

			int limit = last ? length : (length - (LONGEST - 1));
			int start = 0;

			for(int i = 0; i < limit; i++){

				if(buffer[i] != 'o'){
					continue;
				}

				byte[] pattern = match(buffer, i, length);
				if(pattern == null){
					continue;
				}

				// Everything up to and including value=", then the finite value and the closing quote
				int valueStart = i + pattern.length - "INF\"".length();

				this.out.write(buffer, start, valueStart - start);
				this.out.write(FINITE);

				this.replaced++;

				start = i + pattern.length;
				i = start - 1;
			}

			int end = Math.max(start, limit);

			this.out.write(buffer, start, end - start);

			System.arraycopy(buffer, end, buffer, 0, length - end);

			this.length = length - end;
		}

		static
		private byte[] match(byte[] buffer, int offset, int length){

			patterns:
			for(byte[] pattern : PATTERNS){

				if(offset + pattern.length > length){
					continue;
				}

				for(int j = 0; j < pattern.length; j++){

					if(buffer[offset + j] != pattern[j]){
						continue patterns;
					}
				}

				return pattern;
			}

			return null;
		}

		static
		private byte[] ascii(String string){
			return string.getBytes(StandardCharsets.US_ASCII);
		}
	}
}
