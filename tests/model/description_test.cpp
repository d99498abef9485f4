// What GET /v1/model and train --report show of a stored description
// (model::public_description): EASE without ALS's parameters, ALS as stored.
#include <catch2/catch.hpp>

#include <string>

#include "model/description.hpp"
#include "model/params.hpp"

using recsys::model::public_description;

TEST_CASE("an EASE description is shown without ALS's parameters, in stored order") {
  recsys::model::ModelParams p;
  p.family = recsys::model::Family::Ease;
  p.confidence = recsys::model::Confidence::Binary;
  p.factors = 1682;
  p.regularization = 300;
  p.alpha = 5;
  std::string stored = recsys::model::params_to_json(p);
  stored.back() = ',';
  stored += R"("users":943,"items":1682,"loss":0,"metrics":{"k":10,"ndcg_at_k":0.4831,"factors":1},"data":[1,2.5,null]})";
  // Binary input: α and ε play no part. Nested objects are copied whole.
  CHECK(public_description(stored) ==
        R"({"model":"ease","confidence":"binary","regularization":300,"seed":42,"users":943,"items":1682,)"
        R"("metrics":{"k":10,"ndcg_at_k":0.4831,"factors":1},"data":[1,2.5,null]})");
  // Log input divides by ε; linear has α only.
  CHECK(public_description(R"({"model":"ease","confidence":"log","alpha":10,"epsilon":4,"iterations":15})") ==
        R"({"model":"ease","confidence":"log","alpha":10,"epsilon":4})");
  CHECK(public_description(R"({"model":"ease","confidence":"linear","alpha":2,"epsilon":0,"solver":"cg"})") ==
        R"({"model":"ease","confidence":"linear","alpha":2})");
}

TEST_CASE("ALS, older and malformed descriptions are shown exactly as stored") {
  recsys::model::ModelParams p;
  const std::string als = recsys::model::params_to_json(p);
  CHECK(public_description(als) == als);
  for (std::string text : {std::string(R"({"feedback":"implicit","factors":64,"iterations":15})"),
                           std::string(R"({"model":"ials" , "factors":8})"), std::string("not json"),
                           std::string("[1,2]"), std::string(R"({"model":"ease")"), std::string()}) {
    CHECK(public_description(text) == text);
  }
}

TEST_CASE("a model import-factors stored is shown without the solver, its steps and the seed it never used") {
  recsys::model::ModelParams p;
  p.factors = 10;
  p.iterations = 0;
  p.weighted_lambda = true;
  std::string stored = recsys::model::params_to_json(p);
  std::string shown = public_description(stored);
  CHECK(shown.find("\"solver\"") == std::string::npos);
  CHECK(shown.find("\"cg_steps\"") == std::string::npos);
  CHECK(shown.find("\"seed\"") == std::string::npos);
  CHECK(shown.find("\"factors\":10,\"iterations\":0,") != std::string::npos);
  CHECK(shown.find("\"nonnegative\":false") != std::string::npos);  // fold-in uses it
  // Trained by recsys (iterations) or without Spark's weighted λ: as stored.
  p.iterations = 15;
  CHECK(public_description(recsys::model::params_to_json(p)) == recsys::model::params_to_json(p));
  p.iterations = 0;
  p.weighted_lambda = false;
  CHECK(public_description(recsys::model::params_to_json(p)) == recsys::model::params_to_json(p));
}
