// base/text.h and base/files.h: the small helpers every area shares.
#include "rampart/text.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "rampart/files.h"

using namespace rampart;

TEST_CASE("trim") {
  CHECK(trim("") == "");
  CHECK(trim(" \t\r\n") == "");
  CHECK(trim("  a b \r\n") == "a b");
  CHECK(trim("\va\f") == "a");
  CHECK(trim("x") == "x");
}

TEST_CASE("base64: both alphabets, padding optional, bad bytes refused") {
  CHECK(base64Decode("aGVsbG8=") == "hello");
  CHECK(base64Decode("aGVsbG8") == "hello");
  CHECK(base64Decode("aGVs\nbG8=") == "hello");
  CHECK(base64Decode("-_8") == std::string("\xfb\xff", 2));
  CHECK(base64Decode("+/8=") == std::string("\xfb\xff", 2));
  auto bad = base64Decode("aGV*");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::kParse);
  for (std::string raw : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                          std::string("\0\xff\x10{\"rv\":1}", 11)}) {
    const std::string encoded = base64UrlEncode(raw);
    CHECK(encoded.find_first_of("+/=") == std::string::npos);
    CHECK(base64Decode(encoded) == raw);
  }
}

TEST_CASE("urlEncode keeps only unreserved characters") {
  CHECK(urlEncode("spec.nodeName=n-1_x~") == "spec.nodeName%3Dn-1_x~");
  CHECK(urlEncode("a b/c?&") == "a%20b%2Fc%3F%26");
  CHECK(urlEncode("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("HOST:PORT") {
  struct Case {
    std::string text;
    std::string host;
    uint16_t port;
  };
  for (const Case& c : {Case{"127.0.0.1:7401", "127.0.0.1", 7401},
                        Case{"[fd00::1]:443", "fd00::1", 443}, Case{":8080", "", 8080},
                        Case{"host:0", "host", 0}, Case{"a.example:65535", "a.example", 65535}}) {
    CAPTURE(c.text);
    auto hp = splitHostPort(c.text);
    REQUIRE(hp.has_value());
    CHECK(hp->host == c.host);
    CHECK(hp->port == c.port);
  }
  CHECK(splitHostPort("[::1]:9").value().portText() == "9");
  for (const char* bad : {"", "host", "host:", "host:http", "host:65536", "host:-1", "host:+1",
                          "host:80x", "[::1", "[::1:80", "::1]:80"}) {
    CAPTURE(bad);
    auto hp = splitHostPort(bad);
    REQUIRE_FALSE(hp.has_value());
    CHECK(hp.error().code == ErrorCode::kConfig);
    CHECK(hp.error().message.find("is not HOST:PORT") != std::string::npos);
  }
}

TEST_CASE("globs: one matcher for every configuration file") {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  for (auto [p, t, m] :
       {Case{"*", "node.down", true}, Case{"node.*", "node.down", true},
        Case{"node.*", "nodes.down", false}, Case{"node.down", "node.down", true},
        Case{"node.down", "node.downs", false}, Case{"*.down", "node.down", true},
        Case{"n?de.*", "node.x", true}, Case{"etcd.*-down", "etcd.member-down", true},
        Case{"etcd.*-down", "etcd.member-up", false}, Case{"", "", true}, Case{"", "x", false},
        Case{"**", "", true}, Case{"worker-[ab]*", "worker-a1", true},
        Case{"worker-[ab]*", "worker-c1", false}, Case{"worker-[!ab]*", "worker-c1", true},
        Case{"zone-[0-9]", "zone-7", true}, Case{"a\\*", "a*", true}, Case{"a\\*", "ab", false},
        Case{"*", "kube-system/.hidden", true}}) {
    CHECK_MESSAGE(globMatch(p, t) == m, p << " vs " << t);
  }
}

TEST_CASE("files: read whole, write atomically") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rampart-files-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "f.txt";
  REQUIRE(writeFileAtomically(path, std::string("a\0b", 3)));
  CHECK(readFile(path) == std::string("a\0b", 3));
  REQUIRE(writeFileAtomically(path, "second"));
  CHECK(readFile(path) == "second");
  CHECK_FALSE(std::filesystem::exists(dir / "f.txt.tmp"));
  auto missing = readFile(dir / "missing");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::kIo);
  CHECK(missing.error().message.find("missing") != std::string::npos);
  auto unwritable = writeFileAtomically(dir / "no" / "such" / "dir", "x");
  CHECK_FALSE(unwritable.has_value());
  std::filesystem::remove_all(dir);
}

TEST_CASE("validUtf8 accepts UTF-8 and refuses every malformed form") {
  CHECK(validUtf8(""));
  CHECK(validUtf8("worker-b1"));
  CHECK(validUtf8("z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x9a\x80"));  // ü € 🚀
  CHECK(validUtf8(std::string_view("a\0b", 3)));
  CHECK(validUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  CHECK_FALSE(validUtf8("\xff"));
  CHECK_FALSE(validUtf8("\x80"));              // a stray continuation byte
  CHECK_FALSE(validUtf8("\xc3"));              // truncated
  CHECK_FALSE(validUtf8("\xe2\x82"));          // truncated
  CHECK_FALSE(validUtf8("\xc3\x28"));          // a bad continuation byte
  CHECK_FALSE(validUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(validUtf8("\xe0\x80\xaf"));      // overlong '/'
  CHECK_FALSE(validUtf8("\xed\xa0\x80"));      // U+D800, a surrogate
  CHECK_FALSE(validUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(validUtf8("\xf8\x88\x80\x80\x80"));
}

TEST_CASE("isDnsSubdomain is the API server's rule for node names") {
  CHECK(isDnsSubdomain("worker-b1"));
  CHECK(isDnsSubdomain("ip-10-0-1-17.eu-west-1.compute.internal"));
  CHECK(isDnsSubdomain("a"));
  CHECK(isDnsSubdomain(std::string(253, 'a')));
  CHECK_FALSE(isDnsSubdomain(std::string(254, 'a')));
  CHECK_FALSE(isDnsSubdomain(""));
  CHECK_FALSE(isDnsSubdomain("Worker"));
  CHECK_FALSE(isDnsSubdomain("-a"));
  CHECK_FALSE(isDnsSubdomain("a-"));
  CHECK_FALSE(isDnsSubdomain("a.b."));
  CHECK_FALSE(isDnsSubdomain("a_b"));
  CHECK_FALSE(isDnsSubdomain("a b"));
  CHECK_FALSE(isDnsSubdomain("a\nb"));
  CHECK_FALSE(isDnsSubdomain("a\xc3\xbc"));
}

TEST_CASE("concat joins literals, strings, views and temporaries in one allocation") {
  const std::string name = "node-a";
  const std::string_view zone = "z1";
  CHECK(concat("node ", name, " in ", zone, ", ", std::to_string(3), " pods") ==
        "node node-a in z1, 3 pods");
  CHECK(concat().empty());
  CHECK(concat(std::string(), "") == "");
  CHECK(concat(name, name) == "node-anode-a");
}
