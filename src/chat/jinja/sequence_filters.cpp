// Jinja2's aggregate filters over sequences: min, max, groupby, batch, slice.
#include "chat/jinja/filter_call.h"

namespace torchllm::jinja {
namespace {

// Jinja's _min_or_max: the first smallest (or largest) item by the attribute, strings compared case-folded
// unless case_sensitive; undefined for an empty sequence.
Value min_or_max(FilterCall& f, bool want_max) {
  const std::vector<Value> items = iterate(f.subject, f.interp, f.offset);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const bool case_sensitive = f.arg(0, "case_sensitive", Value(false)).truthy();
  const Value attribute = f.arg(1, "attribute", Value::none());
  auto key = [&](const Value& v) {
    return sort_key(attribute.is_none() ? v : attribute_of(v, attribute.str()), case_sensitive);
  };
  size_t best = 0;
  Value best_key = key(items[0]);
  try {
    for (size_t i = 1; i < items.size(); ++i) {
      Value k = key(items[i]);
      const int c = python_compare(k, best_key);
      if (want_max ? c > 0 : c < 0) {
        best = i;
        best_key = std::move(k);
      }
    }
  } catch (const std::invalid_argument& e) {
    f.fail(e.what());
  }
  return items[best];
}

Value batch(FilterCall& f) {
  const Value count_v = f.arg(0, "linecount", Value::none());
  if (!count_v.is_int() && !count_v.is_bool()) f.fail("batch needs an integer line count");
  const int64_t count = count_v.as_int();
  const Value* fill = f.args.get(1, "fill_with");
  std::vector<Value> out, current;
  for (const Value& item : iterate(f.subject, f.interp, f.offset)) {
    if (static_cast<int64_t>(current.size()) == count) out.push_back(Value::list(std::exchange(current, {})));
    current.push_back(item);
  }
  if (!current.empty()) {
    if (fill && !fill->is_none()) {
      while (static_cast<int64_t>(current.size()) < count) current.push_back(*fill);
    }
    out.push_back(Value::list(std::move(current)));
  }
  return Value::generator(std::move(out));
}

Value slice_into(FilterCall& f) {
  const Value slices_v = f.arg(0, "slices", Value::none());
  if (!slices_v.is_int() && !slices_v.is_bool()) f.fail("slice needs an integer number of slices");
  const int64_t slices = slices_v.as_int();
  if (slices == 0) f.fail("integer division or modulo by zero");
  const Value* fill = f.args.get(1, "fill_with");
  const std::vector<Value> seq = iterate(f.subject, f.interp, f.offset);
  const auto length = static_cast<int64_t>(seq.size());
  const int64_t per_slice = length / slices, with_extra = length % slices;  // both >= 0 for slices > 0
  std::vector<Value> out;
  int64_t offset = 0;
  for (int64_t n = 0; n < slices; ++n) {
    f.interp.step(f.offset);
    const int64_t start = offset + n * per_slice;
    if (n < with_extra) ++offset;
    const int64_t end = offset + (n + 1) * per_slice;
    std::vector<Value> part;
    for (int64_t i = std::max<int64_t>(start, 0); i < std::min(end, length); ++i)
      part.push_back(seq[static_cast<size_t>(i)]);
    if (fill && !fill->is_none() && n >= with_extra) part.push_back(*fill);
    out.push_back(Value::list(std::move(part)));
  }
  return Value::generator(std::move(out));
}

// Jinja's groupby: items sorted by the attribute, then (grouper, list) per run of equal keys; with
// case_sensitive=false the keys compare case-folded and the grouper is the first item's own value.
Value group_by(FilterCall& f) {
  const Value* attribute = f.args.get(0, "attribute");
  if (!attribute) f.fail("groupby() missing 1 required positional argument: 'attribute'");
  const Value fallback = f.arg(1, "default", Value::none());
  const bool case_sensitive = f.arg(2, "case_sensitive", Value(false)).truthy();
  auto value_of = [&](const Value& item) {
    Value v = attribute_of(item, attribute->str());
    return v.is_undefined() && !fallback.is_none() ? fallback : v;
  };
  auto key = [&](const Value& item) { return sort_key(value_of(item), case_sensitive); };
  std::vector<Value> items = iterate(f.subject, f.interp, f.offset);
  python_sort(items, key, false, f);
  std::vector<Value> groups;
  for (size_t i = 0; i < items.size();) {
    const Value group_key = key(items[i]);
    std::vector<Value> members;
    for (; i < items.size() && key(items[i]).equals(group_key); ++i) members.push_back(items[i]);
    const Value grouper = case_sensitive ? group_key : value_of(members.front());
    groups.push_back(Value::named_tuple({"grouper", "list"}, {grouper, Value::list(std::move(members))}));
  }
  return Value::list(std::move(groups));
}

}  // namespace

bool sequence_filter(const std::string& name, FilterCall& f, Value& result) {
  if (name == "min" || name == "max") {
    result = min_or_max(f, name == "max");
  } else if (name == "groupby") {
    result = group_by(f);
  } else if (name == "batch") {
    result = batch(f);
  } else if (name == "slice") {
    result = slice_into(f);
  } else {
    return false;
  }
  return true;
}

}  // namespace torchllm::jinja
