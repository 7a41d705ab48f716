package dev.mlexport;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Random;

/**
 * Compares the JSON scorer's decimal parser with Double.parseDouble, bit for bit, on random
 * and adversarial inputs: shortest and 15/16/17-digit forms of random doubles, random digit
 * strings over the whole exponent range, integers halfway between two doubles, and decimals
 * just around the midpoint of two neighbouring doubles. Prints "checked N mismatches M" and
 * the first mismatches; exit code 1 on any.
 *
 * Usage: DecimalParserCheck [cases per kind] [seed]
 */
public final class DecimalParserCheck {

    private static long checked = 0;
    private static long mismatches = 0;

    private static void check(String s) {
        checked++;
        if (!MlexportJsonScorer.isDecimal(s)) {
            throw new IllegalStateException("not a decimal: " + s);
        }
        long got = Double.doubleToRawLongBits(MlexportJsonScorer.DecimalParser.parse(s));
        long want = Double.doubleToRawLongBits(Double.parseDouble(s));
        if (got != want && mismatches++ < 20) {
            System.out.println("mismatch " + s + ": " + Double.longBitsToDouble(got) + " vs " + Double.longBitsToDouble(want));
        }
    }

    private static double randomDouble(Random rnd) {
        while (true) {
            double d = Double.longBitsToDouble(rnd.nextLong());
            if (!Double.isNaN(d) && !Double.isInfinite(d)) {
                return d;
            }
        }
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500_000;
        Random rnd = new Random(args.length > 1 ? Long.parseLong(args[1]) : 20261123L);
        for (int k = 0; k < n; k++) {
            double d = randomDouble(rnd);
            check(Double.toString(d));
            check(String.format(Locale.ROOT, "%.16e", d));
            check(String.format(Locale.ROOT, "%.15e", d));
            check(String.format(Locale.ROOT, "%.14e", d));
            // numbers of everyday size, as data files hold them
            double v = (rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(12) - 6);
            check(Double.toString(v));
            check(new BigDecimal(v).round(new MathContext(17, RoundingMode.HALF_EVEN)).toString());
        }
        for (int k = 0; k < n; k++) { // random digit strings over the whole range
            int len = 1 + rnd.nextInt(18);
            StringBuilder sb = new StringBuilder();
            if (rnd.nextBoolean()) {
                sb.append('-');
            }
            int point = rnd.nextInt(len + 1);
            for (int i = 0; i < len; i++) {
                if (i == point && i > 0) {
                    sb.append('.');
                }
                sb.append((char) ('0' + rnd.nextInt(10)));
            }
            sb.append('e').append(rnd.nextInt(680) - 350);
            check(sb.toString());
        }
        for (int k = 0; k < n; k++) { // integers halfway between two doubles (round half to even)
            int shift = rnd.nextInt(6);
            long m = (1L << 53) + rnd.nextInt(1 << 20);
            long halfway = (m << (shift + 1)) + (1L << shift);
            if (halfway < 1_000_000_000_000_000_000L) {
                check(Long.toString(halfway));
            }
        }
        for (int k = 0; k < n; k++) { // just around the midpoint of two neighbouring doubles
            double d = Math.abs(randomDouble(rnd));
            if (d == 0 || d < Double.MIN_NORMAL) {
                continue;
            }
            BigDecimal mid = new BigDecimal(d).add(new BigDecimal(Math.nextUp(d))).divide(BigDecimal.valueOf(2));
            for (int digits = 16; digits <= 18; digits++) {
                check(mid.round(new MathContext(digits, RoundingMode.DOWN)).toString());
                check(mid.round(new MathContext(digits, RoundingMode.UP)).toString());
            }
        }
        String[] edges = {"9007199254740993", "9007199254740992", "9007199254740991", "2.2250738585072011e-308",
            "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "1.7976931348623159e308", "1e23",
            "8.41e21", "0.1", "0.3", "123456789012345678", "1e-343", "1e309", "0.000000000000000000001",
            "7.2057594037927933e16", "1.00000000000000011102230246251565404236316680908203125"};
        for (String s : edges) {
            check(s);
        }
        System.out.println("checked " + checked + " mismatches " + mismatches);
        System.exit(mismatches == 0 ? 0 : 1);
    }
}
