"""Reference data (基础代码): code lists with Chinese labels (`codes`), resident ID numbers and
school identifiers (`identity`), funding periods (`periods`), and the seeding of the code lists
and project catalogue (`seeds`).
"""
