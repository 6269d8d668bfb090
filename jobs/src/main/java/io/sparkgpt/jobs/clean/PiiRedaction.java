package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces personal data by typed placeholders and counts them: e-mail addresses, public IPv4/IPv6
 * addresses (private, loopback, link-local and documentation ranges identify nobody and stay),
 * phone numbers (Chinese mobile, "+" international, North American), Chinese resident identity
 * numbers (checksum-validated) and payment-card numbers (Luhn-checked, known issuer prefix).
 * Validation keeps version strings, hashes and random digit runs out.
 */
public final class PiiRedaction implements Step {
  public enum Kind {
    EMAIL("<EMAIL>"),
    IP_ADDRESS("<IP_ADDRESS>"),
    PHONE_NUMBER("<PHONE_NUMBER>"),
    CN_ID_NUMBER("<CN_ID_NUMBER>"),
    CARD_NUMBER("<CARD_NUMBER>");

    public final String placeholder;

    Kind(String placeholder) {
      this.placeholder = placeholder;
    }
  }

  /**
   * A pattern, a validator for its matches, and a cheap test that the text could contain a match at
   * all.
   */
  private record Rule(
      Kind kind, Pattern pattern, Predicate<String> valid, Predicate<String> mayMatch) {}

  private static final Pattern CARD =
      Pattern.compile("(?<![\\d-])\\d(?:[ -]?\\d){12,18}(?![\\d-])");
  private static final Pattern CN_ID =
      Pattern.compile(
          "(?<![0-9A-Za-z])[1-9]\\d{5}(?:18|19|20)\\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])\\d{3}[\\dXx](?![0-9A-Za-z])");
  private static final Pattern EMAIL =
      Pattern.compile(
          "(?<![\\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
              + "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}(?![\\w-])");
  private static final Pattern IPV6 =
      Pattern.compile("(?<![\\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\\w:])");
  private static final Pattern IPV4 =
      Pattern.compile(
          "(?<![\\w.])(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?!\\w|\\.\\d)");
  private static final Pattern PHONE =
      Pattern.compile(
          "(?<![\\w+])(?:\\+?86[ -]?)?1[3-9]\\d(?:[ -]?\\d{4}){2}(?!\\d)" // CN mobile
              + "|(?<![\\w+])\\+[1-9]\\d{0,2}[ .-]?(?:\\(\\d{1,4}\\)[ .-]?)?\\d{1,4}(?:[ .-]?\\d{2,4}){1,4}(?!\\d)" // +intl
              + "|(?<![\\w(])(?:\\(\\d{3}\\) ?|\\d{3}[.-])\\d{3}[.-]\\d{4}(?![\\w])"); // NANP

  private final CleanConfig.Pii config;
  private transient List<Rule> rules; // lambdas and patterns are rebuilt on each executor

  public PiiRedaction(CleanConfig.Pii config) {
    this.config = config;
  }

  private List<Rule> rules() {
    if (rules == null) {
      rules = build(config);
    }
    return rules;
  }

  private static List<Rule> build(CleanConfig.Pii config) {
    List<Rule> rules = new ArrayList<>();
    // Order matters: checksummed ID numbers, then cards, before phones, so that no pattern sees
    // another's pieces.
    if (config.cnId()) {
      rules.add(new Rule(Kind.CN_ID_NUMBER, CN_ID, PiiRedaction::isCnId, t -> digitRun(t, 17)));
    }
    if (config.card()) {
      rules.add(new Rule(Kind.CARD_NUMBER, CARD, PiiRedaction::isCard, t -> digitRun(t, 13)));
    }
    if (config.email()) {
      rules.add(new Rule(Kind.EMAIL, EMAIL, x -> true, t -> t.indexOf('@') >= 0));
    }
    if (config.ip()) {
      rules.add(
          new Rule(Kind.IP_ADDRESS, IPV6, PiiRedaction::isPublicIpv6, PiiRedaction::colonPair));
      rules.add(
          new Rule(Kind.IP_ADDRESS, IPV4, PiiRedaction::isPublicIpv4, PiiRedaction::digitDotDigit));
    }
    if (config.phone()) {
      rules.add(new Rule(Kind.PHONE_NUMBER, PHONE, PiiRedaction::isPhone, t -> digitRun(t, 10)));
    }
    return rules;
  }

  @Override
  public String name() {
    return Steps.PII;
  }

  @Override
  public Rejection apply(Doc doc) {
    int[] counts = new int[Kind.values().length];
    String text = redact(doc.text(), counts);
    doc.redacted(counts);
    if (text != doc.text()) {
      doc.replaceText(text);
    }
    return null;
  }

  /**
   * Returns the text with placeholders (the same instance when nothing matched); adds to counts by
   * Kind.
   */
  public String redact(String text, int[] counts) {
    for (Rule rule : rules()) {
      if (!rule.mayMatch.test(text)) {
        continue;
      }
      Matcher m = rule.pattern.matcher(text);
      StringBuilder out = null;
      int last = 0;
      while (m.find()) {
        if (!rule.valid.test(m.group())) {
          continue;
        }
        if (out == null) {
          out = new StringBuilder(text.length());
        }
        out.append(text, last, m.start()).append(rule.kind.placeholder);
        last = m.end();
        counts[rule.kind.ordinal()]++;
      }
      if (out != null) {
        text = out.append(text, last, text.length()).toString();
      }
    }
    return text;
  }

  /**
   * Whether the text holds at least {@code n} digits in one group, where a group may contain the
   * separators that phone, card and ID numbers use (space, '-', '.', '(', ')', '+'). Most text has
   * no such group, and one pass over it is much cheaper than running the digit patterns.
   */
  static boolean digitRun(String text, int n) {
    int digits = 0;
    int separators = 0; // consecutive, e.g. ") " in "(415) 555-0132"
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c >= '0' && c <= '9') {
        if (++digits >= n) {
          return true;
        }
        separators = 0;
      } else if (digits > 0
          && separators < 2
          && (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+')) {
        separators++;
      } else {
        digits = 0;
        separators = 0;
      }
    }
    return false;
  }

  static boolean digitDotDigit(String text) {
    for (int i = text.indexOf('.', 1);
        i > 0 && i + 1 < text.length();
        i = text.indexOf('.', i + 1)) {
      if (Character.isDigit(text.charAt(i - 1)) && Character.isDigit(text.charAt(i + 1))) {
        return true;
      }
    }
    return false;
  }

  /** Two colons at most five characters apart: every IPv6 literal has them. */
  static boolean colonPair(String text) {
    int last = -10;
    for (int i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
      if (i - last <= 5) {
        return true;
      }
      last = i;
    }
    return false;
  }

  static String digits(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      if (Character.isDigit(s.charAt(i))) {
        b.append(s.charAt(i));
      }
    }
    return b.toString();
  }

  static boolean isCard(String match) {
    String d = digits(match);
    int n = d.length();
    if (n < 13 || n > 19 || !luhn(d)) {
      return false;
    }
    int p2 = Integer.parseInt(d.substring(0, 2));
    int p4 = Integer.parseInt(d.substring(0, 4));
    return d.charAt(0) == '4' // Visa
        || (p2 >= 51 && p2 <= 55)
        || (p4 >= 2221 && p4 <= 2720) // Mastercard
        || ((p2 == 34 || p2 == 37) && n == 15) // American Express
        || p4 == 6011
        || p2 == 65
        || (p4 >= 6440 && p4 <= 6499) // Discover
        || p2 == 62 // UnionPay
        || (p4 >= 3528 && p4 <= 3589) // JCB
        || ((p2 == 36 || p2 == 38 || (p4 >= 3000 && p4 <= 3059)) && n == 14); // Diners Club
  }

  static boolean luhn(String digits) {
    int sum = 0;
    boolean twice = false;
    for (int i = digits.length() - 1; i >= 0; i--) {
      int v = digits.charAt(i) - '0';
      if (twice) {
        v *= 2;
        if (v > 9) {
          v -= 9;
        }
      }
      sum += v;
      twice = !twice;
    }
    return sum % 10 == 0;
  }

  private static final int[] CN_ID_WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  private static final String CN_ID_CHECK = "10X98765432";

  /** GB 11643-1999: the 18th character is an ISO 7064 MOD 11-2 check over the first 17 digits. */
  static boolean isCnId(String id) {
    int sum = 0;
    for (int i = 0; i < 17; i++) {
      sum += (id.charAt(i) - '0') * CN_ID_WEIGHTS[i];
    }
    return Character.toUpperCase(id.charAt(17)) == CN_ID_CHECK.charAt(sum % 11);
  }

  static boolean isPhone(String match) {
    int n = digits(match).length();
    return n >= 10 && n <= 15;
  }

  static boolean isPublicIpv4(String ip) {
    String[] p = ip.split("\\.");
    int a = Integer.parseInt(p[0]);
    int b = Integer.parseInt(p[1]);
    int c = Integer.parseInt(p[2]);
    return !(a == 0
        || a == 10
        || a == 127
        || a >= 224
        || (a == 169 && b == 254)
        || (a == 172 && b >= 16 && b <= 31)
        || (a == 192 && b == 168)
        || (a == 100 && b >= 64 && b <= 127)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113));
  }

  /** Parses an IPv6 literal (no embedded IPv4) into 8 groups; null when it is not one. */
  static int[] parseIpv6(String s) {
    int dbl = s.indexOf("::");
    if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) {
      return null;
    }
    String head = dbl >= 0 ? s.substring(0, dbl) : s;
    String tail = dbl >= 0 ? s.substring(dbl + 2) : "";
    String[] h = head.isEmpty() ? new String[0] : head.split(":", -1);
    String[] t = tail.isEmpty() ? new String[0] : tail.split(":", -1);
    if (dbl < 0 ? h.length != 8 : h.length + t.length > 7) {
      return null;
    }
    int[] groups = new int[8];
    for (int i = 0; i < h.length; i++) {
      if (h[i].isEmpty() || h[i].length() > 4) {
        return null;
      }
      groups[i] = Integer.parseInt(h[i], 16);
    }
    for (int i = 0; i < t.length; i++) {
      if (t[i].isEmpty() || t[i].length() > 4) {
        return null;
      }
      groups[8 - t.length + i] = Integer.parseInt(t[i], 16);
    }
    return groups;
  }

  static boolean isPublicIpv6(String s) {
    int[] g = parseIpv6(s);
    if (g == null) {
      return false;
    }
    // Global unicast is 2000::/3; everything else (::/8, link-local, unique-local, multicast)
    // identifies nobody.
    boolean globalUnicast = (g[0] & 0xE000) == 0x2000;
    boolean documentation = g[0] == 0x2001 && g[1] == 0x0db8;
    return globalUnicast && !documentation;
  }
}
