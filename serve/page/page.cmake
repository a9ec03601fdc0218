# serve_page_embed(TARGET): the page's files (serve/page/index.html,
# app.js) turned at build time into a C file in the build tree,
# serve_page_assets.c (serve_page_assets.h says what it holds), added to
# TARGET: psc-serve serves the page wherever it runs. The generated file is
# never committed; it is remade when a page file changes.
set(SERVE_PAGE_DIR ${CMAKE_CURRENT_LIST_DIR})
function(serve_page_embed target)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/serve_page_assets.c)
  set(deps)
  foreach(f IN ITEMS index.html app.js)
    list(APPEND deps ${SERVE_PAGE_DIR}/${f})
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DDIR=${SERVE_PAGE_DIR} -DOUT=${out}
            -P ${SERVE_PAGE_DIR}/embed.cmake
    DEPENDS ${deps} ${SERVE_PAGE_DIR}/embed.cmake
    COMMENT "embedding the page (serve/page) in psc-serve" VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
