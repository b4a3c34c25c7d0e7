#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>

#include "rampart/curve.h"
#include "test_support.h"

using namespace rampart;

TEST_CASE("key files round-trip and the secret file is private") {
  testing::TempDir dir;
  auto keys = generateCurveKeyPair();
  REQUIRE(keys.has_value());
  CHECK(isZ85Key(keys->public_key));
  REQUIRE(writeKeyFile(dir / "a.key", *keys, true).has_value());
  REQUIRE(writeKeyFile(dir / "a.pub", *keys, false).has_value());
  struct stat st {};
  REQUIRE(::stat((dir / "a.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto back = readKeyFile(dir / "a.key", true);
  REQUIRE(back.has_value());
  CHECK(back->public_key == keys->public_key);
  CHECK(back->secret_key == keys->secret_key);
  CHECK_FALSE(readKeyFile(dir / "a.pub", true).has_value());
  CHECK(*resolvePublicKey((dir / "a.pub").string()) == keys->public_key);
  CHECK(*resolvePublicKey(keys->public_key) == keys->public_key);
}

TEST_CASE("bad key files and allowlists give errors naming the file and line") {
  testing::TempDir dir;
  std::ofstream(dir / "bad.key") << "public=short\n";
  auto r = readKeyFile(dir / "bad.key", false);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("bad.key") != std::string::npos);
  std::ofstream(dir / "junk.key") << "hello world\n";
  CHECK_FALSE(readKeyFile(dir / "junk.key", false).has_value());
  CHECK_FALSE(readKeyFile(dir / "missing.key", false).has_value());

  std::ofstream(dir / "allow.txt") << "# agents\n\nnot-a-key\n";
  auto a = readAllowlist(dir / "allow.txt");
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().message.find("allow.txt:3") != std::string::npos);
  std::ofstream(dir / "empty.txt") << "# nothing\n";
  CHECK_FALSE(readAllowlist(dir / "empty.txt").has_value());
}

TEST_CASE("an allowlist reads plain keys with names, key files, and directories") {
  testing::TempDir dir;
  auto k1 = *generateCurveKeyPair();
  auto k2 = *generateCurveKeyPair();
  std::filesystem::create_directory(dir / "keys");
  std::ofstream(dir / "keys" / "list.txt") << k1.public_key << "  node-pool-a\n";
  REQUIRE(writeKeyFile(dir / "keys" / "b.pub", k2, false).has_value());
  std::ofstream(dir / "keys" / ".hidden") << "garbage that would not parse\n";
  auto allow = readAllowlist(dir / "keys");
  REQUIRE(allow.has_value());
  CHECK(allow->size() == 2);
  CHECK(allow->at(k1.public_key) == "node-pool-a");
  CHECK(allow->at(k2.public_key) == k2.public_key);
}
