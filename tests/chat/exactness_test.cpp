// Our renderer against Python Jinja2 on small templates for each construct chat templates rely on (dict keys,
// Markup, filters on falsy values, min/max, ...). The expected outputs and errors in exactness_cases.json
// come from tools/render_chat_template.py, via make_exactness_cases.py.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "torchllm/chat_template.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm {
namespace {

using Json = nlohmann::ordered_json;

TEST(JinjaExactness, EveryCaseMatchesJinja2) {
  const Json file = Json::parse(read_text_file(TORCHLLM_CHAT_TEST_SOURCE_DIR "/exactness_cases.json"));
  const Json& messages = file["messages"];
  ASSERT_GE(file["cases"].size(), 40u);
  for (const Json& c : file["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name + ": " + c["template"].get<std::string>());
    std::string output, error;
    try {
      output = ChatTemplate(c["template"].get<std::string>(), {{"bos_token", "<s>"}, {"eos_token", "</s>"}})
                   .render(messages);
    } catch (const Error& e) {
      error = e.what();
    }
    if (c.contains("output")) {
      EXPECT_EQ(error, "");
      EXPECT_EQ(output, c["output"].get<std::string>());
    } else {
      // "TypeError: message": ours must fail with the same message.
      const std::string expected = c["error"];
      EXPECT_NE(error, "") << "rendered " << output << " where Jinja2 raised " << expected;
      EXPECT_NE(error.find(expected.substr(expected.find(": ") + 2)), std::string::npos)
          << "got " << error << ", Jinja2 raised " << expected;
    }
  }
}

}  // namespace
}  // namespace torchllm
