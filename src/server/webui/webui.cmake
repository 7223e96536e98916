# The chat page `torchllm serve` answers at /: the files of this directory and the browser libraries pinned in
# its package-lock.json (fetched from npm at build time into the build tree), turned into one generated C++
# source by embed_assets.cmake. Included by the top-level CMakeLists.txt; sets TORCHLLM_WEBUI_SOURCE.
option(TORCHLLM_WEBUI "Embed the chat page in the binary (fetches its libraries with npm at build time)" ON)

set(webui_dir ${PROJECT_SOURCE_DIR}/src/server/webui)
set(webui_build ${PROJECT_BINARY_DIR}/webui)
set(webui_npm ${webui_build}/npm/node_modules)
# NAME (as index.html names it, @ASSET:NAME@) and file.
set(webui_assets
  "style.css|${webui_dir}/style.css"
  "favicon.svg|${webui_dir}/favicon.svg"
  "markdown.js|${webui_dir}/markdown.js"
  "store.js|${webui_dir}/store.js"
  "api.js|${webui_dir}/api.js"
  "messages.js|${webui_dir}/messages.js"
  "app.js|${webui_dir}/app.js"
  "marked.umd.js|${webui_npm}/marked/lib/marked.umd.js"
  "purify.min.js|${webui_npm}/dompurify/dist/purify.min.js"
  "highlight.min.js|${webui_npm}/@highlightjs/cdn-assets/highlight.min.js"
  "highlight-light.css|${webui_npm}/@highlightjs/cdn-assets/styles/github.min.css"
  "highlight-dark.css|${webui_npm}/@highlightjs/cdn-assets/styles/github-dark.min.css"
)

set(webui_manifest "")
set(webui_files ${webui_dir}/index.html)
set(webui_vendor_files "")
foreach(entry IN LISTS webui_assets)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 name)
  list(GET fields 1 file)
  string(APPEND webui_manifest "${name}\t${file}\n")
  if(file MATCHES "^${webui_npm}")
    list(APPEND webui_vendor_files ${file})
  else()
    list(APPEND webui_files ${file})
  endif()
endforeach()
file(CONFIGURE OUTPUT ${webui_build}/manifest.txt CONTENT "${webui_manifest}")

set(TORCHLLM_WEBUI_SOURCE ${webui_build}/webui_assets_data.cpp)
if(TORCHLLM_WEBUI)
  add_custom_command(
    OUTPUT ${webui_build}/npm/stamp
    BYPRODUCTS ${webui_vendor_files}
    COMMAND bash ${PROJECT_SOURCE_DIR}/tools/fetch_npm_packages.sh ${webui_dir} ${webui_build}/npm
    DEPENDS ${webui_dir}/package.json ${webui_dir}/package-lock.json ${PROJECT_SOURCE_DIR}/tools/fetch_npm_packages.sh
    COMMENT "Fetching the chat page's browser libraries (npm ci)"
    VERBATIM)
  add_custom_command(
    OUTPUT ${TORCHLLM_WEBUI_SOURCE}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${TORCHLLM_WEBUI_SOURCE} -DINDEX=${webui_dir}/index.html
            -DMANIFEST=${webui_build}/manifest.txt -DEMBED=ON -P ${webui_dir}/embed_assets.cmake
    DEPENDS ${webui_build}/npm/stamp ${webui_files} ${webui_build}/manifest.txt ${webui_dir}/embed_assets.cmake
    COMMENT "Embedding the chat page"
    VERBATIM)
else()
  execute_process(COMMAND ${CMAKE_COMMAND} -DOUTPUT=${TORCHLLM_WEBUI_SOURCE} -DEMBED=OFF
                          -P ${webui_dir}/embed_assets.cmake)
endif()
