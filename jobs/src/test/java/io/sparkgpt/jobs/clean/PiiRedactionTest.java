package io.sparkgpt.jobs.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparkgpt.jobs.clean.PiiRedaction.Kind;
import org.junit.jupiter.api.Test;

class PiiRedactionTest {
  final PiiRedaction pii = new PiiRedaction(CleanConfig.DEFAULTS.pii());

  String redact(String s) {
    return pii.redact(s, new int[Kind.values().length]);
  }

  @Test
  void emails() {
    assertEquals("mail <EMAIL> now", redact("mail jane.doe+news@example.co.uk now"));
    assertEquals("write to <EMAIL>.", redact("write to a_b@mail-server.org."));
    assertEquals(
        "@decorator and user@localhost and x@y", redact("@decorator and user@localhost and x@y"));
  }

  @Test
  void ipAddresses() {
    assertEquals("server <IP_ADDRESS> up", redact("server 8.8.4.4 up"));
    assertEquals("host <IP_ADDRESS>", redact("host 2001:4860:4860::8888"));
    // Private, loopback, documentation ranges, versions and times stay.
    for (String keep :
        new String[] {
          "127.0.0.1",
          "10.1.2.3",
          "192.168.0.1",
          "172.16.5.4",
          "192.0.2.7",
          "version 1.2.3.4.5",
          "::1",
          "fe80::1",
          "x[::2]",
          "12:30:45",
          "2001:db8::1",
          "std::vector",
          "999.1.1.1"
        }) {
      assertEquals(keep, redact(keep), keep);
    }
  }

  @Test
  void phoneNumbers() {
    assertEquals("call <PHONE_NUMBER>", redact("call 13812345678"));
    assertEquals("call <PHONE_NUMBER>", redact("call +86 138-1234-5678"));
    assertEquals("tel <PHONE_NUMBER>", redact("tel +44 20 7946 0958"));
    assertEquals("tel <PHONE_NUMBER>", redact("tel (415) 555-0132"));
    assertEquals("tel <PHONE_NUMBER>", redact("tel 415-555-0132"));
    assertEquals(
        "year 2023 and 12345678 and 23812345678", redact("year 2023 and 12345678 and 23812345678"));
  }

  @Test
  void chineseIdNumbersAreChecksumValidated() {
    assertEquals("身份证 <CN_ID_NUMBER> 号", redact("身份证 11010519491231002X 号"));
    assertEquals("ID <CN_ID_NUMBER>", redact("ID 440524188001010014"));
    assertEquals("bad 110105194912310021", redact("bad 110105194912310021")); // wrong check digit
  }

  @Test
  void cardNumbersAreLuhnChecked() {
    assertEquals("card <CARD_NUMBER>", redact("card 4111 1111 1111 1111"));
    assertEquals("card <CARD_NUMBER>", redact("card 5500-0000-0000-0004"));
    assertEquals("amex <CARD_NUMBER>", redact("amex 378282246310005"));
    assertEquals("not 4111 1111 1111 1112", redact("not 4111 1111 1111 1112")); // Luhn fails
    assertEquals("id 1234567812345670", redact("id 1234567812345670")); // Luhn ok, no issuer prefix
  }

  @Test
  void prefiltersNeverSkipARealMatch() {
    for (String s :
        new String[] {
          "(415) 555-0132", "+86 138-1234-5678", "4111 1111 1111 1111", "11010519491231002X"
        }) {
      assertEquals(true, PiiRedaction.digitRun(s, 10), s);
    }
    assertEquals(false, PiiRedaction.digitRun("version 3.11, build 2023 of 12 May", 10));
    assertEquals(true, PiiRedaction.digitDotDigit("at 8.8.8.8"));
    assertEquals(true, PiiRedaction.colonPair("2001:4860::8888"));
    assertEquals(false, PiiRedaction.colonPair("key: value, other: thing"));
  }

  @Test
  void countsByKind() {
    int[] counts = new int[Kind.values().length];
    pii.redact("a@b.com c@d.org 8.8.8.8 13812345678", counts);
    assertEquals(2, counts[Kind.EMAIL.ordinal()]);
    assertEquals(1, counts[Kind.IP_ADDRESS.ordinal()]);
    assertEquals(1, counts[Kind.PHONE_NUMBER.ordinal()]);
  }
}
