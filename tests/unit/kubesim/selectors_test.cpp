#include <doctest/doctest.h>

#include "api/selectors.h"

using namespace rampart::kubesim;

TEST_CASE("label selectors match like the API server's") {
  const Json labels{{"app", "web"}, {"tier", "front"}, {"version", "2"}};
  struct Case {
    const char* selector;
    bool match;
  };
  const Case cases[] = {
      {"", true},
      {"app=web", true},
      {"app==web", true},
      {"app=db", false},
      {"app!=db", true},
      {"app!=web", false},
      {"missing!=x", true},
      {"app in (web,db)", true},
      {"app in (db, cache)", false},
      {"app notin (db,cache)", true},
      {"app notin (web)", false},
      {"missing notin (web)", true},
      {"tier", true},
      {"missing", false},
      {"!missing", true},
      {"!tier", false},
      {"app=web,tier=front", true},
      {"app=web,tier=back", false},
      {"app in (web),!missing,version!=1", true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.selector);
    auto q = LabelQuery::parse(c.selector);
    REQUIRE(q.has_value());
    CHECK(q->matches(labels) == c.match);
  }
}

TEST_CASE("malformed label selectors are rejected") {
  for (const char* bad : {"app in web", "app in ()", "a=b,,c=d", "bad key=x", "app=we b"}) {
    CAPTURE(bad);
    auto q = LabelQuery::parse(bad);
    REQUIRE_FALSE(q.has_value());
    CHECK(q.error().http_status == 400);
  }
}

TEST_CASE("field selectors accept only supported fields") {
  const std::vector<std::string> supported = {"metadata.name", "metadata.namespace",
                                              "spec.nodeName"};
  const Json pod{{"metadata", {{"name", "p1"}, {"namespace", "shop"}}},
                 {"spec", {{"nodeName", "n1"}}}};
  struct Case {
    const char* selector;
    bool match;
  };
  const Case cases[] = {
      {"spec.nodeName=n1", true},
      {"spec.nodeName==n1", true},
      {"spec.nodeName=n2", false},
      {"spec.nodeName!=n2", true},
      {"metadata.name=p1,metadata.namespace=shop", true},
      {"metadata.namespace!=shop", false},
      {"spec.nodeName=", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.selector);
    auto q = FieldQuery::parse(c.selector, supported);
    REQUIRE(q.has_value());
    CHECK(q->matches(pod) == c.match);
  }
  auto bad = FieldQuery::parse("status.phase=Running", supported);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "field label not supported: status.phase");
  CHECK(bad.error().http_status == 400);
  CHECK_FALSE(FieldQuery::parse("spec.nodeName", supported).has_value());
}

TEST_CASE("metav1.LabelSelector objects") {
  const Json labels{{"app", "web"}, {"tier", "front"}};
  CHECK(matchesLabelSelector(Json::object(), labels));
  CHECK_FALSE(matchesLabelSelector(Json(), labels));
  CHECK(matchesLabelSelector(Json{{"matchLabels", {{"app", "web"}}}}, labels));
  CHECK_FALSE(matchesLabelSelector(Json{{"matchLabels", {{"app", "db"}}}}, labels));
  const Json in{{"matchExpressions",
                 Json::array({Json{{"key", "tier"}, {"operator", "In"}, {"values", {"front"}}}})}};
  CHECK(matchesLabelSelector(in, labels));
  const Json not_exists{
      {"matchExpressions", Json::array({Json{{"key", "tier"}, {"operator", "DoesNotExist"}}})}};
  CHECK_FALSE(matchesLabelSelector(not_exists, labels));
}
