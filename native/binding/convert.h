// Conversions between JS values and engine structs. JS uses camelCase field names; every reader checks
// types and throws a Napi::TypeError naming the field, so bad input never reaches the engine.
#pragma once

#include <napi.h>

#include <string>

#include "../engine/config.h"
#include "../engine/model.h"
#include "../engine/train.h"

namespace tessera_binding {

tessera::ViTConfig vitFromJs(const Napi::Object& o);
Napi::Object vitToJs(Napi::Env env, const tessera::ViTConfig& v);

tessera::AggregatorConfig aggregatorFromJs(const Napi::Value& v, int encoderOutputDim);
Napi::Value aggregatorToJs(Napi::Env env, const tessera::AggregatorConfig& a);

tessera::TrainOptions trainOptionsFromJs(const Napi::Value& v);
Napi::Object stepResultToJs(Napi::Env env, const tessera::StepResult& r);

tessera::EncoderSpec encoderSpecFromJs(const Napi::Object& o);
Napi::Object encoderSpecToJs(Napi::Env env, const tessera::EncoderSpec& s);

// Optional field helpers: return `fallback` when the field is undefined; throw TypeError on a wrong type.
double numberField(const Napi::Object& o, const char* name, double fallback, const char* where);
bool boolField(const Napi::Object& o, const char* name, bool fallback, const char* where);
std::string stringField(const Napi::Object& o, const char* name, const std::string& fallback, const char* where);
int intField(const Napi::Object& o, const char* name, int fallback, const char* where);

}  // namespace tessera_binding
