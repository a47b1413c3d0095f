"""Exports and import templates (导出与导入模板).

`tabular` streams a list as CSV or .xlsx page by page (constant memory), `lists` feeds it the
unfunded list, the poverty-family history and the preschool roster under the viewer's scope,
`statistics_table` builds the statistics workbook (统计表) of a region or of a region's schools,
`links` signs the short-lived download links the API hands out, and `templates` builds the
blank import template of every import kind.
"""
