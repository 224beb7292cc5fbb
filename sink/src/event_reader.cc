#include "event_reader.h"

namespace ghostlog::sink {

namespace {

// Deeper nesting than this is refused rather than risking the stack.
constexpr int kMaxDepth = 256;

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  Status Event(EventView* out) {
    out->op.clear();
    out->before.present = out->after.present = false;
    out->before.size = out->after.size = 0;
    RETURN_NOT_OK(Expect('{'));
    if (Peek() == '}') {
      ++pos_;
      return End();
    }
    std::string key;
    while (true) {
      RETURN_NOT_OK(String(&key));
      RETURN_NOT_OK(Expect(':'));
      if (key == "op") {
        if (Peek() == '"') {
          RETURN_NOT_OK(String(&out->op));
        } else {
          RETURN_NOT_OK(Skip(1));
        }
      } else if (key == "before" || key == "after") {
        RETURN_NOT_OK(Image(key == "before" ? &out->before : &out->after));
      } else {
        RETURN_NOT_OK(Skip(1));
      }
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      RETURN_NOT_OK(Expect('}'));
      return End();
    }
  }

 private:
  // The next non-blank byte, not consumed; 0 at the end.
  char Peek() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  Status Error(const std::string& what) const {
    return Status::Corruption("event is not valid JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  Status Expect(char c) {
    if (Peek() != c) return Error(std::string("expected '") + c + "'");
    ++pos_;
    return Status::OK();
  }
  Status End() {
    if (Peek() != '\0') return Error("text after the event object");
    return Status::OK();
  }

  Status Image(RowImage* img) {
    if (Peek() == 'n') return Literal("null");
    RETURN_NOT_OK(Expect('{'));
    img->present = true;
    img->size = 0;  // a repeated key: the last one wins, as with a JSON tree
    if (Peek() == '}') {
      ++pos_;
      return Status::OK();
    }
    while (true) {
      if (img->size == img->fields.size()) img->fields.emplace_back();
      JsonField& f = img->fields[img->size++];
      RETURN_NOT_OK(String(&f.name));
      RETURN_NOT_OK(Expect(':'));
      RETURN_NOT_OK(Value(&f.value));
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      return Expect('}');
    }
  }

  Status Value(JsonValue* v) {
    const char c = Peek();
    const size_t start = pos_;
    switch (c) {
      case '"':
        v->kind = JsonValue::Kind::kString;
        return String(&v->text);
      case 'n':
        v->kind = JsonValue::Kind::kNull;
        v->text.clear();
        return Literal("null");
      case 't':
      case 'f':
        v->kind = JsonValue::Kind::kBool;
        v->text = c == 't' ? "true" : "false";
        return Literal(v->text);
      case '[':
      case '{':
        v->kind = c == '[' ? JsonValue::Kind::kArray : JsonValue::Kind::kObject;
        RETURN_NOT_OK(Skip(2));
        v->text.assign(s_.substr(start, pos_ - start));
        return Status::OK();
      default:
        v->kind = JsonValue::Kind::kNumber;
        RETURN_NOT_OK(Number());
        v->text.assign(s_.substr(start, pos_ - start));
        return Status::OK();
    }
  }

  // Checks and passes over one value of any kind.
  Status Skip(int depth) {
    if (depth > kMaxDepth) return Error("nested deeper than " + std::to_string(kMaxDepth));
    const char c = Peek();
    if (c == '"') return String(nullptr);
    if (c == 'n') return Literal("null");
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c != '[' && c != '{') return Number();
    ++pos_;
    const char close = c == '[' ? ']' : '}';
    if (Peek() == close) {
      ++pos_;
      return Status::OK();
    }
    while (true) {
      if (close == '}') {
        RETURN_NOT_OK(String(nullptr));
        RETURN_NOT_OK(Expect(':'));
      }
      RETURN_NOT_OK(Skip(depth + 1));
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      return Expect(close);
    }
  }

  Status Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return Error("expected " + std::string(word));
    pos_ += word.size();
    return Status::OK();
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  Status Number() {
    auto digit = [&] { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; };
    auto digits = [&] {
      if (!digit()) return false;
      while (digit()) ++pos_;
      return true;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return Error("expected a value");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Error("expected a digit after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return Error("expected an exponent");
    }
    return Status::OK();
  }

  // A string, unescaped into *out (or only checked when out is null).
  Status String(std::string* out) {
    RETURN_NOT_OK(Expect('"'));
    if (out) out->clear();
    while (true) {
      size_t run = pos_;
      while (run < s_.size() && s_[run] != '"' && s_[run] != '\\' && static_cast<unsigned char>(s_[run]) >= 0x20) ++run;
      if (out) out->append(s_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= s_.size()) return Error("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return Status::OK();
      if (c != '\\') {
        --pos_;
        return Error("control character in a string");
      }
      if (pos_ >= s_.size()) return Error("unterminated string");
      const char e = s_[pos_++];
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          RETURN_NOT_OK(CodePoint(&cp));
          if (out) AppendUtf8(cp, out);
          continue;
        }
        default: return Error("bad escape in a string");
      }
      if (out) *out += plain;
    }
  }

  // After "\u": four hex digits, and a second \uXXXX for a surrogate pair.
  Status CodePoint(uint32_t* cp) {
    RETURN_NOT_OK(Hex4(cp));
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return Error("unpaired low surrogate");
    if (*cp < 0xD800 || *cp > 0xDBFF) return Status::OK();
    uint32_t low = 0;
    if (s_.substr(pos_, 2) != "\\u") return Error("unpaired high surrogate");
    pos_ += 2;
    RETURN_NOT_OK(Hex4(&low));
    if (low < 0xDC00 || low > 0xDFFF) return Error("unpaired high surrogate");
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
    return Status::OK();
  }
  Status Hex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return Error("short \\u escape");
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) return Error("bad \\u escape");
      *v = *v * 16 + static_cast<uint32_t>(d);
    }
    return Status::OK();
  }
  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Status ReadEvent(std::string_view json, EventView* out) {
  constexpr size_t kKeepValueBytes = 1 << 20;
  for (RowImage* image : {&out->before, &out->after}) {
    for (JsonField& f : image->fields) {
      if (f.value.text.capacity() > kKeepValueBytes) std::string().swap(f.value.text);
    }
  }
  return Reader(json).Event(out);
}

}  // namespace ghostlog::sink
