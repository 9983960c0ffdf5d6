# Builds native/build/Release/tessera_engine.node: the C++ engine (engine/*.cpp, listed at configure time so
# new layer files need no edit here) and its N-API binding (binding/*.cpp). N-API only (NAPI_VERSION 8):
# one binary serves Node and Electron. Offline: headers come from nodedir (/usr/include/node here).
# -z now: a missing engine symbol fails at require() with a clear message instead of killing the process
# at the first call that needs it.
# The CUDA backend (native/cuda) comes prebuilt by scripts/build-cuda.js as a static archive named by TESSERA_CUDA_LIB,
# linked with the static CUDA runtime (it loads libcuda lazily: the addon loads without a driver); without it the addon
# is CPU-only and cuda/cuda_absent.cpp answers the binding's questions.
# tessera_pixels: pixel work for the slide reader (native/pixels): Lanczos scaling always, partial JPEG decoding
# where libjpeg's headers are installed (Debian: libjpeg62-turbo-dev); without them the reader decodes whole tiles.
{
  "variables": {
    "has_libjpeg": "<!(node pixels/has-libjpeg.mjs)",
    "cuda_lib": "<!(node -p \"process.env.TESSERA_CUDA_LIB || ''\")",
    "cuda_home": "<!(node -p \"process.env.TESSERA_CUDA_HOME || ''\")"
  },
  "targets": [
    {
      "target_name": "tessera_engine",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('engine').filter(f=>f.endsWith('.cpp')).sort().map(f=>'engine/'+f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('binding').filter(f=>f.endsWith('.cpp')).sort().map(f=>'binding/'+f).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": [
        "-fno-exceptions",
        "-O2",
        "-O0"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17",
        "-std=gnu++20",
        "-O2",
        "-O0"
      ],
      "cflags": [
        "-O3",
        "-pthread"
      ],
      "cflags_cc": [
        "-O3",
        "-std=c++17",
        "-fexceptions",
        "-frtti",
        "-pthread"
      ],
      "ldflags": [
        "-pthread",
        "-Wl,-z,now"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "ExceptionHandling": 1,
          "AdditionalOptions": [
            "/std:c++17",
            "/O2"
          ]
        }
      },
      "conditions": [
        [
          "cuda_lib!=''",
          {
            "defines": [
              "TESSERA_HAVE_CUDA"
            ],
            "libraries": [
              "<(cuda_lib)",
              "-L<(cuda_home)/lib64",
              "-lcudart_static",
              "-ldl",
              "-lrt"
            ]
          },
          {
            "sources": [
              "cuda/cuda_absent.cpp"
            ]
          }
        ]
      ]
    },
    {
      "target_name": "tessera_pixels",
      "sources": [
        "pixels/addon.cpp",
        "pixels/box_reduce.cpp",
        "pixels/lanczos.cpp"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "ldflags": [
        "-Wl,-z,now"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "cflags!": [
        "-fno-exceptions",
        "-O2",
        "-O0"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17",
        "-std=gnu++20",
        "-O2",
        "-O0"
      ],
      "cflags": [
        "-O3",
        "-pthread"
      ],
      "cflags_cc": [
        "-O3",
        "-std=c++17",
        "-fexceptions",
        "-frtti",
        "-pthread"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "ExceptionHandling": 1,
          "AdditionalOptions": [
            "/std:c++17",
            "/O2"
          ]
        }
      },
      "conditions": [
        [
          "has_libjpeg==1",
          {
            "sources": [
              "pixels/jpeg_region.cpp",
              "pixels/region_parts.cpp"
            ],
            "defines": [
              "TESSERA_HAVE_LIBJPEG"
            ],
            "libraries": [
              "-ljpeg"
            ]
          }
        ]
      ]
    }
  ]
}
